// The tables as Kysely sees them: one description of every row, for both SQLite and PostgreSQL.
import type { Generated } from 'kysely';

export interface ModelsTable {
  id: string;
  name: string | null;
  config: string;
  /** The weights: little-endian float64 in WEIGHT_KEYS order, as rows of blob_chunks (migration 008). */
  weights_id: string;
  source: string;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
}

export interface AssignmentsTable {
  id: string;
  title: string;
  spec: string;
  secret: Buffer;
  created_at: string;
}

export interface SubmissionsTable {
  /** Insertion order: SQLite's implicit rowid, an identity column on PostgreSQL (migration 002). */
  rowid: Generated<number>;
  id: string;
  assignment_id: string;
  student: string;
  answers: string;
  report: string;
  score: number;
  max_score: number;
  created_at: string;
}

export interface RunsTable {
  id: string;
  name: string | null;
  status: string;
  task: string | null;
  spec: string;
  /** The initial weights as a blob of blob_chunks (migration 008), as the model's weights are. */
  init_params_id: string;
  data_x: Buffer | null;
  data_targets: Buffer | null;
  step: Generated<number>;
  steps: number;
  loss: number | null;
  accuracy: number | null;
  evaluation: string | null;
  model_id: string | null;
  reason: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** Times the run began training (migration 006). */
  attempts: Generated<number>;
}

/** A run's latest checkpoint (migration 006). */
export interface RunCheckpointsTable {
  run_id: string;
  step: number;
  meta: string;
  /** The state's bytes: a blob of blob_chunks (migration 008) of `state_bytes` bytes. */
  state_id: string;
  state_bytes: number | string;
  created_at: string;
  /** Bytes of the run's event log when the checkpoint was taken (migration 008; null before it). */
  log_bytes: number | string | null;
}

/** One row of a large float64 payload (src/db/blobs.ts): row `idx` of blob `blob_id` (migration 008). */
export interface BlobChunksTable {
  blob_id: string;
  idx: number;
  written_at: string;
  data: Buffer;
}

export interface RunEventsTable {
  run_id: string;
  seq: number;
  step: number;
  kind: string;
  frame: string;
}

/** Rollups of a run's step series (training/history): bucket `bucket` of level `level`, its stats as float64. */
export interface RunRollupsTable {
  run_id: string;
  level: number;
  bucket: number;
  stats: Uint8Array;
}

/** Server-wide secrets by name (the grading secret that keys student tokens). */
export interface SecretsTable {
  name: string;
  value: Buffer;
}

export interface Schema {
  models: ModelsTable;
  assignments: AssignmentsTable;
  submissions: SubmissionsTable;
  runs: RunsTable;
  run_events: RunEventsTable;
  run_checkpoints: RunCheckpointsTable;
  run_rollups: RunRollupsTable;
  blob_chunks: BlobChunksTable;
  secrets: SecretsTable;
  roster: RosterTable;
  regrades: RegradesTable;
}

/** An assignment's roster, and the token versions of students whose token was rotated (enrolled = 0). */
export interface RosterTable {
  assignment_id: string;
  student: string;
  name: string | null;
  email: string | null;
  enrolled: Generated<number>;
  token_version: Generated<number>;
}

/** Each regrade of a submission: its score before and after, the report before, why and when. */
export interface RegradesTable {
  id: string;
  assignment_id: string;
  submission_id: string;
  student: string;
  old_score: number;
  new_score: number;
  old_report: string;
  reason: string;
  at: string;
}
