// The tables as Kysely sees them: one description of every row, for both SQLite and PostgreSQL.
import type { Generated } from 'kysely';

export interface ModelsTable {
  id: string;
  name: string | null;
  config: string;
  weights: Buffer;
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
  init_params: Buffer;
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
  state: Buffer;
  created_at: string;
}

export interface RunEventsTable {
  run_id: string;
  seq: number;
  step: number;
  kind: string;
  frame: string;
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
