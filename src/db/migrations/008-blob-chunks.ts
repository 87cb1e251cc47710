// Large payloads in rows of 128 KiB (src/db/blobs.ts): a model's weights, a run's initial weights and a
// run's checkpoint state move from one BLOB / bytea column each (one statement of ~1 s on the event loop
// for a model at UNROLL_MAX_PARAMS, four times that for an Adam checkpoint of it) to `blob_chunks`, which
// the store writes and reads a row per statement. What is stored already is moved, then the old columns
// go. A checkpoint also records how many bytes the run's event log had then (`log_bytes`), so the log cap
// keeps counting across a resume.
import { type Kysely, sql } from 'kysely';
import { bytes, type Migration } from './types.js';

/** Bytes per row (blobs.ts CHUNK_FLOATS · 8: the migration keeps its own copy, as it never changes). */
const CHUNK_BYTES = 16_384 * 8;

export const blobChunks: Migration = {
  name: '008-blob-chunks',
  async up(db, d) {
    await db.schema
      .createTable('blob_chunks')
      .addColumn('blob_id', 'text', (c) => c.notNull())
      .addColumn('idx', 'integer', (c) => c.notNull())
      // before the data: SQLite reads a row's columns in order, so the sweep's look at written_at never
      // walks a 128 KiB value's overflow pages
      .addColumn('written_at', 'text', (c) => c.notNull())
      .addColumn('data', bytes(d), (c) => c.notNull())
      .addPrimaryKeyConstraint('blob_chunks_pk', ['blob_id', 'idx'])
      .execute();
    // a blob's first row, by age: the orphan sweep at open reads this index, not the rows
    await db.schema
      .createIndex('blob_chunks_first')
      .on('blob_chunks')
      .columns(['written_at', 'blob_id'])
      .where(sql.ref('idx'), '=', 0)
      .execute();
    await db.schema.alterTable('models').addColumn('weights_id', 'text').execute();
    await db.schema.alterTable('runs').addColumn('init_params_id', 'text').execute();
    await db.schema.alterTable('run_checkpoints').addColumn('state_id', 'text').execute();
    await db.schema.alterTable('run_checkpoints').addColumn('state_bytes', 'bigint').execute();
    await db.schema.alterTable('run_checkpoints').addColumn('log_bytes', 'bigint').execute();
    await move(db, { table: 'models', key: 'id', from: 'weights', to: 'weights_id' });
    await move(db, { table: 'runs', key: 'id', from: 'init_params', to: 'init_params_id' });
    await move(db, { table: 'run_checkpoints', key: 'run_id', from: 'state', to: 'state_id', size: 'state_bytes' });
    // who owns a blob, answered from an index (the sweep; the columns sit after large ones in their rows)
    for (const [table, column] of [
      ['models', 'weights_id'],
      ['runs', 'init_params_id'],
      ['run_checkpoints', 'state_id'],
    ])
      await db.schema.createIndex(`${table}_${column}`).on(table).column(column).execute();
    await db.schema.alterTable('models').dropColumn('weights').execute();
    await db.schema.alterTable('runs').dropColumn('init_params').execute();
    await db.schema.alterTable('run_checkpoints').dropColumn('state').execute();
  },
};

/** Each row's bytes in column `from` into rows of blob_chunks, one row at a time (memory: one value). */
async function move(
  db: Kysely<unknown>,
  t: { table: string; key: string; from: string; to: string; size?: string },
): Promise<void> {
  const { rows: keys } = await sql<{ key: string }>`SELECT ${sql.ref(t.key)} AS key FROM ${sql.table(t.table)}`.execute(
    db,
  );
  const writtenAt = new Date().toISOString();
  for (const { key } of keys) {
    const { rows } = await sql<{ value: Uint8Array }>`SELECT ${sql.ref(t.from)} AS value FROM ${sql.table(t.table)}
      WHERE ${sql.ref(t.key)} = ${key}`.execute(db);
    const value = Buffer.from(rows[0].value);
    const blobId = `migrated-${t.table}-${key}`;
    const n = Math.max(1, Math.ceil(value.length / CHUNK_BYTES));
    for (let idx = 0; idx < n; idx++) {
      const data = value.subarray(idx * CHUNK_BYTES, (idx + 1) * CHUNK_BYTES);
      await sql`INSERT INTO blob_chunks (blob_id, idx, data, written_at) VALUES (${blobId}, ${idx}, ${data}, ${writtenAt})`.execute(
        db,
      );
    }
    await sql`UPDATE ${sql.table(t.table)} SET ${sql.ref(t.to)} = ${blobId}
      ${t.size ? sql`, ${sql.ref(t.size)} = ${value.length}` : sql``} WHERE ${sql.ref(t.key)} = ${key}`.execute(db);
  }
}
