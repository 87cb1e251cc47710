// A run's history, fast: step and hidden events found by step (not only by seq), and the rollups of its step
// series: for level L ≥ 1, bucket j holds the stats (count, min, max, sum per series, float64) of steps
// j·16^L .. (j+1)·16^L − 1, written in the transaction of the events that complete it.
import { sql } from 'kysely';
import { bytes, type Migration } from './types.js';

export const history: Migration = {
  name: '006-history',
  async up(db, d) {
    await db.schema.createIndex('run_events_by_step').on('run_events').columns(['run_id', 'kind', 'step']).execute();
    await db.schema
      .createTable('run_rollups')
      .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
      .addColumn('level', 'integer', (c) => c.notNull())
      .addColumn('bucket', 'integer', (c) => c.notNull())
      .addColumn('stats', bytes(d), (c) => c.notNull())
      .addPrimaryKeyConstraint('run_rollups_pk', ['run_id', 'level', 'bucket'])
      .$call((b) => (d === 'sqlite' ? b.modifyEnd(sql`without rowid`) : b))
      .execute();
  },
};
