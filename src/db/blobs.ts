// Large float64 payloads (a model's weights: 64 MB at UNROLL_MAX_PARAMS) stored as rows of 128 KiB in
// `blob_chunks` (migration 008), written, read and deleted one row per statement with an event-loop turn
// between. better-sqlite3 runs every statement on the event loop, so one 64 MB BLOB was ~1 s of it (and
// node-postgres decodes a bytea answer as one hex string of twice its size); a 128 KiB row is well under a
// millisecond on either. The rows of one blob are never changed once written: a new value is a new blob
// whose id replaces the old one in its owner's row in one statement, so a reader that got every row of the
// id it read has one consistent value, and one that finds rows missing (the blob was replaced and deleted
// meanwhile) reads the owner's row again.
import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Dialect } from './migrations/types.js';
import type { Schema } from './schema.js';

/** float64 numbers per row: 128 KiB. */
export const CHUNK_FLOATS = 16_384;
const CHUNK_BYTES = CHUNK_FLOATS * 8;

/** A blob whose owner's row never came (a process that stopped while writing it) is deleted after this. */
export const ORPHAN_AGE_MS = 60 * 60 * 1000;

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

const bytesOf = (a: Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const total = (parts: readonly Uint8Array[]) => parts.reduce((n, a) => n + a.length, 0);

/**
 * Copies bytes [from, from + bytes.length) of the concatenation of `parts` out to `bytes` (`out`) or in
 * from it: a row may straddle two parts. Byte-wise, so a stored row's Buffer need not be 8-aligned.
 */
function copy(parts: readonly Uint8Array[], from: number, bytes: Uint8Array, out: boolean): void {
  let skip = from;
  let at = 0;
  for (const a of parts) {
    if (at >= bytes.length) return;
    if (skip >= a.length) {
      skip -= a.length;
      continue;
    }
    const n = Math.min(a.length - skip, bytes.length - at);
    if (out) bytes.set(a.subarray(skip, skip + n), at);
    else a.set(bytes.subarray(at, at + n), skip);
    at += n;
    skip = 0;
  }
}

/** Stores the concatenation of `parts`; returns its id. */
export async function writeBlob(db: Kysely<Schema>, parts: readonly Uint8Array[]): Promise<string> {
  const id = randomUUID();
  const n = total(parts);
  const writtenAt = new Date().toISOString();
  try {
    for (let idx = 0; idx * CHUNK_BYTES < n || idx === 0; idx++) {
      const from = idx * CHUNK_BYTES;
      const data = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, n - from));
      copy(parts, from, data, true);
      await db.insertInto('blob_chunks').values({ blob_id: id, idx, data, written_at: writtenAt }).execute();
      await turn();
    }
  } catch (err) {
    await deleteBlob(db, id).catch(() => {});
    throw err;
  }
  return id;
}

/**
 * Fills `parts` (as many bytes as they hold) from blob `id`, a row per statement; false when the blob is
 * not whole (deleted, or replaced and deleted, while it was read), so the caller reads its owner again.
 */
export async function readBlob(db: Kysely<Schema>, id: string, parts: readonly Uint8Array[]): Promise<boolean> {
  const n = total(parts);
  const rows = Math.max(1, Math.ceil(n / CHUNK_BYTES));
  for (let idx = 0; idx < rows; idx++) {
    const r = await db
      .selectFrom('blob_chunks')
      .select('data')
      .where('blob_id', '=', id)
      .where('idx', '=', idx)
      .executeTakeFirst();
    const expected = Math.min(CHUNK_BYTES, n - idx * CHUNK_BYTES);
    if (!r || r.data.length !== expected) return false;
    copy(parts, idx * CHUNK_BYTES, r.data, false);
    await turn();
  }
  return true;
}

/** Stores the concatenation of `arrays` (little-endian float64, as packParams lays it out); returns its id. */
export const writeFloats = (db: Kysely<Schema>, arrays: readonly Float64Array[]): Promise<string> =>
  writeBlob(db, arrays.map(bytesOf));

/** Fills `arrays` from blob `id` (see readBlob). */
export const readFloats = (db: Kysely<Schema>, id: string, arrays: readonly Float64Array[]): Promise<boolean> =>
  readBlob(db, id, arrays.map(bytesOf));

/** Rows deleted per statement: 2 MiB. */
const DELETE_ROWS = 16;

/**
 * Deletes blob `id`, a few rows per statement, from its last row down: row 0 goes last, so a blob that a
 * stopped process left half deleted is still found (by its row 0) and swept.
 */
export async function deleteBlob(db: Kysely<Schema>, id: string): Promise<void> {
  const last = await db
    .selectFrom('blob_chunks')
    .select((eb) => eb.fn.max('idx').as('idx'))
    .where('blob_id', '=', id)
    .executeTakeFirst();
  if (last?.idx === null || last?.idx === undefined) return;
  for (let below = Number(last.idx) + 1; below > 0; below -= DELETE_ROWS) {
    await db
      .deleteFrom('blob_chunks')
      .where('blob_id', '=', id)
      .where('idx', '>=', Math.max(0, below - DELETE_ROWS))
      .execute();
    await turn();
  }
}

/** Free pages given back to the file system per statement. */
const RECLAIM_PAGES = 1000;

/**
 * SQLite: gives the free pages (those of deleted rows) back to the file system, RECLAIM_PAGES per statement
 * with a turn between, on files created with auto_vacuum = INCREMENTAL (open.ts; older files keep them and
 * reuse them for new rows). PostgreSQL: nothing, its autovacuum does it. `until` stops it early (a shutdown).
 */
export async function reclaimPages(
  db: Kysely<Schema>,
  dialect: Dialect,
  until: () => boolean = () => false,
): Promise<void> {
  if (dialect !== 'sqlite') return;
  while (!until()) {
    await sql.raw(`PRAGMA incremental_vacuum(${RECLAIM_PAGES})`).execute(db);
    const r = await sql<{ freelist_count: number }>`PRAGMA freelist_count`.execute(db);
    if (Number(r.rows[0]?.freelist_count ?? 0) === 0) return;
    await turn();
  }
}

/**
 * Deletes blobs older than `ORPHAN_AGE_MS` that no row refers to: those of a process that stopped between
 * writing a blob and the row that owns it, or between deleting the row and its blob. Run at open.
 */
export async function sweepOrphanBlobs(db: Kysely<Schema>, now = Date.now()): Promise<number> {
  const cutoff = new Date(now - ORPHAN_AGE_MS).toISOString();
  const orphans = await db
    .selectFrom('blob_chunks')
    .select('blob_id')
    .distinct()
    // a literal, as the partial index blob_chunks_first says it (a bound 0 need not match it)
    .where('idx', '=', sql.lit(0))
    .where('written_at', '<', cutoff)
    // (NOT IN over a NULL would match nothing)
    .where('blob_id', 'not in', (eb) =>
      eb.selectFrom('models').select('weights_id').where('weights_id', 'is not', null),
    )
    .execute();
  for (const o of orphans) await deleteBlob(db, o.blob_id);
  return orphans.length;
}
