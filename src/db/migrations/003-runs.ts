// Training runs and their event logs. A run keeps what it needs to start (or restart) on its own: the
// resolved spec, the initial weights and any inline data, so a later change to its source model is not seen.
import { sql } from 'kysely';
import { bytes, float, type Migration } from './types.js';

export const runs: Migration = {
  name: '003-runs',
  async up(db, d) {
    await db.schema
      .createTable('runs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('task', 'text')
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('init_params', bytes(d), (c) => c.notNull())
      .addColumn('data_x', bytes(d))
      .addColumn('data_targets', bytes(d))
      .addColumn('step', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('steps', 'integer', (c) => c.notNull())
      .addColumn('loss', float)
      .addColumn('accuracy', float)
      .addColumn('evaluation', 'text')
      .addColumn('model_id', 'text')
      .addColumn('reason', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text')
      .addColumn('finished_at', 'text')
      .execute();
    await db.schema.createIndex('runs_created').on('runs').column('created_at').execute();
    await db.schema.createIndex('runs_status').on('runs').column('status').execute();
    await db.schema
      .createTable('run_events')
      .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('step', 'integer', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('frame', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('run_events_pk', ['run_id', 'seq'])
      // the log is read by (run, seq) only: SQLite stores it in that key's order
      .$call((b) => (d === 'sqlite' ? b.modifyEnd(sql`without rowid`) : b))
      .execute();
  },
};
