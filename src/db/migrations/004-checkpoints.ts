// Checkpoints and resume: a run's latest checkpoint (the training state at a step, see
// training/checkpoint.ts), how many times the run began training (a process that dies mid-run leaves
// it `running`, and the next start resumes it or, past UNROLL_RUN_MAX_ATTEMPTS, fails it), and at most
// one `step` and one `hidden` event per step, so the steps recomputed after a resume are written once.
export const checkpoints = `
ALTER TABLE runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;

CREATE TABLE run_checkpoints (
  run_id     TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
  step       INTEGER NOT NULL,
  meta       TEXT NOT NULL,
  state      BLOB NOT NULL,
  created_at TEXT NOT NULL
);

CREATE UNIQUE INDEX run_events_once ON run_events (run_id, kind, step) WHERE kind <> 'status';
`;
