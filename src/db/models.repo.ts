// Stored models: prepared statements and the row mapper. Weights go in and out as Params.
import { randomUUID } from 'node:crypto';
import { type ElmanConfig, PARAM_OF, type Params, WEIGHT_KEYS, zeroParams } from '../core/model.js';
import type { Db } from './open.js';

export interface ModelSummary {
  id: string;
  name: string | null;
  config: ElmanConfig;
  source: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}
export interface StoredModel extends ModelSummary {
  params: Params;
}

interface Row {
  id: string;
  name: string | null;
  config: string;
  weights?: Buffer;
  source: string;
  version: number;
  created_at: string;
  updated_at: string;
}

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
  private readonly insertStmt;
  private readonly byIdOrName;
  private readonly listStmt;
  private readonly countStmt;
  private readonly updateStmt;
  private readonly deleteStmt;

  constructor(db: Db) {
    this.insertStmt = db.prepare(
      'INSERT INTO models (id, name, config, weights, source, version, created_at, updated_at) VALUES (@id, @name, @config, @weights, @source, 1, @now, @now)',
    );
    this.byIdOrName = db.prepare<[string, string], Row>('SELECT * FROM models WHERE id = ? OR name = ? LIMIT 1');
    this.listStmt = db.prepare<[number, number], Row>(
      'SELECT id, name, config, source, version, created_at, updated_at FROM models ORDER BY created_at DESC, id LIMIT ? OFFSET ?',
    );
    this.countStmt = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM models');
    this.updateStmt = db.prepare('UPDATE models SET weights = ?, version = version + 1, updated_at = ? WHERE id = ?');
    this.deleteStmt = db.prepare('DELETE FROM models WHERE id = ?');
  }

  create(m: { name?: string | null; config: ElmanConfig; params: Params; source: string }): StoredModel {
    const id = randomUUID();
    this.insertStmt.run({
      id,
      name: m.name ?? null,
      config: JSON.stringify(m.config),
      weights: packParams(m.params),
      source: m.source,
      now: new Date().toISOString(),
    });
    return this.get(id)!;
  }

  /** By id, or by name (the Open Inference Protocol addresses models by name). */
  get(idOrName: string): StoredModel | undefined {
    const r = this.byIdOrName.get(idOrName, idOrName);
    return r ? { ...summary(r), params: unpackParams(JSON.parse(r.config), r.weights!) } : undefined;
  }

  list(limit: number, offset: number): { models: ModelSummary[]; total: number } {
    return { models: this.listStmt.all(limit, offset).map(summary), total: this.countStmt.get()!.n };
  }

  updateWeights(id: string, params: Params): StoredModel | undefined {
    const r = this.updateStmt.run(packParams(params), new Date().toISOString(), id);
    return r.changes ? this.get(id) : undefined;
  }

  delete(id: string): boolean {
    return this.deleteStmt.run(id).changes > 0;
  }
}
