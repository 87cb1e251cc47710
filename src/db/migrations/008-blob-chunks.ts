// Large float64 payloads in rows of 128 KiB (src/db/blobs.ts): a model's weights move from one BLOB / bytea
// column (one ~1 s statement, on the event loop, for a model at UNROLL_MAX_PARAMS) to `blob_chunks`, which
// the store writes and reads a row per statement. The models already stored are moved here, then the
// column goes. A run's checkpoint also records how many bytes its event log had then (`log_bytes`), so the
// log cap keeps counting across a resume.
import { type Kysely, sql } from 'kysely';
import { bytes, type Migration } from './types.js';

/** float64 numbers per row (blobs.ts CHUNK_FLOATS: the migration keeps its own copy, as it never changes). */
const CHUNK_FLOATS = 16_384;

export const blobChunks: Migration = {
  name: '008-blob-chunks',
  async up(db, d) {
    await db.schema
      .createTable('blob_chunks')
      .addColumn('blob_id', 'text', (c) => c.notNull())
      .addColumn('idx', 'integer', (c) => c.notNull())
      .addColumn('data', bytes(d), (c) => c.notNull())
      .addColumn('written_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('blob_chunks_pk', ['blob_id', 'idx'])
      .execute();
    await db.schema.alterTable('models').addColumn('weights_id', 'text').execute();
    await moveWeights(db);
    await db.schema.alterTable('models').dropColumn('weights').execute();
    await db.schema.alterTable('run_checkpoints').addColumn('log_bytes', 'bigint').execute();
  },
};

/** Each stored model's weights into rows of blob_chunks, one model at a time (memory: one model). */
async function moveWeights(db: Kysely<unknown>): Promise<void> {
  const { rows: ids } = await sql<{ id: string }>`SELECT id FROM models`.execute(db);
  const writtenAt = new Date().toISOString();
  for (const { id } of ids) {
    const { rows } = await sql<{ weights: Uint8Array }>`SELECT weights FROM models WHERE id = ${id}`.execute(db);
    const weights = Buffer.from(rows[0].weights);
    const blobId = `migrated-${id}`;
    const n = Math.max(1, Math.ceil(weights.length / (CHUNK_FLOATS * 8)));
    for (let idx = 0; idx < n; idx++) {
      const data = weights.subarray(idx * CHUNK_FLOATS * 8, (idx + 1) * CHUNK_FLOATS * 8);
      await sql`INSERT INTO blob_chunks (blob_id, idx, data, written_at) VALUES (${blobId}, ${idx}, ${data}, ${writtenAt})`.execute(
        db,
      );
    }
    await sql`UPDATE models SET weights_id = ${blobId} WHERE id = ${id}`.execute(db);
  }
}
