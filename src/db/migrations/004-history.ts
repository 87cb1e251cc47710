// A run's history, fast: step and hidden events found by step (not only by seq), and the rollups of its step
// series: for level L ≥ 1, bucket j holds the stats (count, min, max, sum per series) of steps
// j·16^L .. (j+1)·16^L − 1, written with the events that complete it.
export const history = `
CREATE INDEX run_events_by_step ON run_events (run_id, kind, step);

CREATE TABLE run_rollups (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  level  INTEGER NOT NULL,
  bucket INTEGER NOT NULL,
  stats  BLOB NOT NULL,
  PRIMARY KEY (run_id, level, bucket)
) WITHOUT ROWID;
`;
