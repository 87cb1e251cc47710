// Stored models: queries and the row mapper. Weights go in and out as Params.
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { type ElmanConfig, PARAM_OF, type Params, WEIGHT_KEYS, zeroParams } from '../core/model.js';
import type { ModelSummary } from '../schemas/models.js';
import type { Db } from './open.js';
import type { ModelsTable, Schema } from './schema.js';

export type { ModelSummary } from '../schemas/models.js';

/** A model as stored: its summary (the shape GET /v1/models lists) and its weights. */
export interface StoredModel extends ModelSummary {
  params: Params;
}

type Row = Omit<Selectable<ModelsTable>, 'weights'>;
const SUMMARY = ['id', 'name', 'config', 'source', 'version', 'created_at', 'updated_at'] as const;

/** The five tensors, concatenated in WEIGHT_KEYS order, as little-endian float64 bytes. */
export function packParams(p: Params): Buffer {
  const parts = WEIGHT_KEYS.map((k) => p[PARAM_OF[k]]);
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

export class ModelsRepo {
  private readonly db: Kysely<Schema>;

  constructor(db: Db) {
    this.db = db.kysely;
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
    await this.db
      .insertInto('models')
      .values({ ...row, weights: packParams(m.params) })
      .execute();
    return { ...summary(row), params: m.params };
  }

  /** By id, or by name (the Open Inference Protocol addresses models by name). */
  async get(idOrName: string): Promise<StoredModel | undefined> {
    const r = await this.db
      .selectFrom('models')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .limit(1)
      .executeTakeFirst();
    return r ? { ...summary(r), params: unpackParams(JSON.parse(r.config), r.weights) } : undefined;
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

  async updateWeights(id: string, params: Params): Promise<StoredModel | undefined> {
    const r = await this.db
      .updateTable('models')
      .set((eb) => ({
        weights: packParams(params),
        version: eb('version', '+', 1),
        updated_at: new Date().toISOString(),
      }))
      .where('id', '=', id)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n ? this.get(id) : undefined;
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('models').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
