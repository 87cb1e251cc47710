// Stored models: queries and the row mapper. Weights go in and out as Params.
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { type ElmanConfig, PARAM_OF, type Params, WEIGHT_KEYS, zeroParams } from '../core/model.js';
import type { ModelSummary } from '../schemas/models.js';
import { deleteBlob, readFloats, reclaimPages, writeFloats } from './blobs.js';
import type { Db } from './open.js';
import type { ModelsTable, Schema } from './schema.js';

export type { ModelSummary } from '../schemas/models.js';

/** A model as stored: its summary (the shape GET /v1/models lists) and its weights. */
export interface StoredModel extends ModelSummary {
  params: Params;
}

type Row = Omit<Selectable<ModelsTable>, 'weights_id'>;
const SUMMARY = ['id', 'name', 'config', 'source', 'version', 'created_at', 'updated_at'] as const;

/** Times a read starts again when the weights it read were replaced meanwhile (a PUT racing a GET). */
const READ_TRIES = 5;

const tensorsOf = (p: Params) => WEIGHT_KEYS.map((k) => p[PARAM_OF[k]]);

/** The five tensors, concatenated in WEIGHT_KEYS order, as little-endian float64 bytes. */
export function packParams(p: Params): Buffer {
  const parts = tensorsOf(p);
  const all = new Float64Array(parts.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of parts) {
    all.set(a, o);
    o += a.length;
  }
  return Buffer.from(all.buffer, all.byteOffset, all.byteLength);
}

export function unpackParams(config: ElmanConfig, blob: Buffer): Params {
  const p = zeroParams(config);
  // copy out of the Buffer: its byteOffset need not be 8-aligned
  const all = new Float64Array(new Uint8Array(blob).buffer);
  let o = 0;
  for (const k of WEIGHT_KEYS) {
    const a = p[PARAM_OF[k]];
    a.set(all.subarray(o, o + a.length));
    o += a.length;
  }
  return p;
}

function summary(r: Row): ModelSummary {
  return {
    id: r.id,
    name: r.name,
    config: JSON.parse(r.config),
    source: r.source,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/**
 * The weights are rows of blob_chunks (blobs.ts), written and read a row per statement with an event-loop
 * turn between, so a model at UNROLL_MAX_PARAMS (64 MB) never holds the event loop for more than one row.
 * A row in `models` points at its weights' blob; a new version is a new blob, swapped in by one UPDATE.
 */
export class ModelsRepo {
  private readonly db: Kysely<Schema>;
  private readonly dialect: Db['dialect'];

  constructor(db: Db) {
    this.db = db.kysely;
    this.dialect = db.dialect;
  }

  /** An old blob goes, and the pages it held go back to the file system (SQLite). */
  private async drop(weightsId: string): Promise<void> {
    await deleteBlob(this.db, weightsId);
    await reclaimPages(this.db, this.dialect);
  }

  async create(m: { name?: string | null; config: ElmanConfig; params: Params; source: string }): Promise<StoredModel> {
    const id = randomUUID();
    const now = new Date().toISOString();
    const row = {
      id,
      name: m.name ?? null,
      config: JSON.stringify(m.config),
      source: m.source,
      version: 1,
      created_at: now,
      updated_at: now,
    };
    // the weights first: the model exists once its row does, with all of them
    const weightsId = await writeFloats(this.db, tensorsOf(m.params));
    try {
      await this.db
        .insertInto('models')
        .values({ ...row, weights_id: weightsId })
        .execute();
    } catch (err) {
      // a name taken meanwhile (a UNIQUE violation), or the database gone: the blob has no owner
      await deleteBlob(this.db, weightsId).catch(() => {});
      throw err;
    }
    return { ...summary(row), params: m.params };
  }

  private row(idOrName: string) {
    return this.db
      .selectFrom('models')
      .select([...SUMMARY, 'weights_id'])
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .orderBy((eb) => eb.case().when('id', '=', idOrName).then(0).else(1).end())
      .limit(1)
      .executeTakeFirst();
  }

  /** By id, or by name (the Open Inference Protocol addresses models by name): its summary, without the weights. */
  async find(idOrName: string): Promise<ModelSummary | undefined> {
    const r = await this.row(idOrName);
    return r ? summary(r) : undefined;
  }

  /** By id or by name, with its weights. */
  async get(idOrName: string): Promise<StoredModel | undefined> {
    for (let tries = 0; tries < READ_TRIES; tries++) {
      const r = await this.row(idOrName);
      if (!r) return undefined;
      const s = summary(r);
      const params = zeroParams(s.config);
      if (await readFloats(this.db, r.weights_id, tensorsOf(params))) return { ...s, params };
      // replaced (or deleted) while it was read: read the row again
    }
    throw new Error(`the weights of model ${idOrName} changed during ${READ_TRIES} reads in a row`);
  }

  async list(limit: number, offset: number): Promise<{ models: ModelSummary[]; total: number }> {
    const [rows, count] = await Promise.all([
      this.db
        .selectFrom('models')
        .select(SUMMARY)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(limit)
        .offset(offset)
        .execute(),
      this.db
        .selectFrom('models')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow(),
    ]);
    return { models: rows.map(summary), total: Number(count.n) };
  }

  /** New weights, version + 1: the new blob is written, swapped in, and the old one deleted. */
  async updateWeights(id: string, params: Params): Promise<StoredModel | undefined> {
    const weightsId = await writeFloats(this.db, tensorsOf(params));
    let swapped: { old: string; row: Row } | undefined;
    try {
      swapped = await this.db.transaction().execute(async (trx) => {
        const before = await trx.selectFrom('models').select('weights_id').where('id', '=', id).executeTakeFirst();
        if (!before) return undefined;
        const row = await trx
          .updateTable('models')
          .set((eb) => ({
            weights_id: weightsId,
            version: eb('version', '+', 1),
            updated_at: new Date().toISOString(),
          }))
          .where('id', '=', id)
          .returning(SUMMARY)
          .executeTakeFirstOrThrow();
        return { old: before.weights_id, row };
      });
    } catch (err) {
      await deleteBlob(this.db, weightsId).catch(() => {});
      throw err;
    }
    if (!swapped) {
      await deleteBlob(this.db, weightsId);
      return undefined;
    }
    await this.drop(swapped.old);
    return { ...summary(swapped.row), params };
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('models').where('id', '=', id).returning('weights_id').executeTakeFirst();
    if (!r) return false;
    await this.drop(r.weights_id);
    return true;
  }
}
