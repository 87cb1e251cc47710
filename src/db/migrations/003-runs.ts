// Training runs and their event logs. A run keeps what it needs to start (or restart) on its own: the
// resolved spec, the initial weights and any inline data, so a later change to its source model is not seen.
export const runs = `
CREATE TABLE runs (
  id           TEXT PRIMARY KEY,
  name         TEXT,
  status       TEXT NOT NULL,
  task         TEXT,
  spec         TEXT NOT NULL,
  init_params  BLOB NOT NULL,
  data_x       BLOB,
  data_targets BLOB,
  step         INTEGER NOT NULL DEFAULT 0,
  steps        INTEGER NOT NULL,
  loss         REAL,
  accuracy     REAL,
  evaluation   TEXT,
  model_id     TEXT,
  reason       TEXT,
  created_at   TEXT NOT NULL,
  started_at   TEXT,
  finished_at  TEXT
);
CREATE INDEX runs_created ON runs (created_at);
CREATE INDEX runs_status ON runs (status);

CREATE TABLE run_events (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  seq    INTEGER NOT NULL,
  step   INTEGER NOT NULL,
  kind   TEXT NOT NULL,
  frame  TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
`;
