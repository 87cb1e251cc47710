// Checkpoints and resume: a run's latest checkpoint (the training state at a step, see
// training/checkpoint.ts), how many times the run began training (a process that dies mid-run leaves it
// `running`; it is resumed, or past UNROLL_RUN_MAX_ATTEMPTS failed), and at most one `step` and one
// `hidden` event per step, so the steps recomputed after a resume are written once.
import { sql } from 'kysely';
import { bytes, type Migration } from './types.js';

export const checkpoints: Migration = {
  name: '006-checkpoints',
  async up(db, d) {
    await db.schema
      .alterTable('runs')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createTable('run_checkpoints')
      .addColumn('run_id', 'text', (c) => c.primaryKey().references('runs.id').onDelete('cascade'))
      .addColumn('step', 'integer', (c) => c.notNull())
      .addColumn('meta', 'text', (c) => c.notNull())
      .addColumn('state', bytes(d), (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('run_events_once')
      .on('run_events')
      .columns(['run_id', 'kind', 'step'])
      .unique()
      .where(sql<boolean>`kind <> 'status'`)
      .execute();
  },
};
