// A run's history as the dashboard and the export read it: step events by step range, hidden snapshots,
// and the rollups of the step series (written by RunsRepo.record, in the transaction of the events that
// complete them). Plain queries that both dialects answer from the indexes of migration 005.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Db } from './open.js';
import type { Schema } from './schema.js';

/** A rollup row: level L ≥ 1, bucket j, the bucket's stats as little-endian float64. */
export interface RollupRow {
  level: number;
  bucket: number;
  stats: Uint8Array;
}

export interface StepRow {
  step: number;
  frame: string;
}

type Kind = 'step' | 'hidden';

/** The largest step a column holds (PostgreSQL's integer): "to the end" in a range. */
export const LAST_STEP = 2 ** 31 - 1;

/** Rollups per INSERT: well under both dialects' limit on bound parameters (4 a row). */
const INSERT_ROWS = 1000;

/** Writes rollups, replacing any of the same bucket (a step recorded again after a resume gives the same). */
export async function upsertRollups(
  db: Kysely<Schema> | Transaction<Schema>,
  runId: string,
  rows: readonly RollupRow[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_ROWS)
    await db
      .insertInto('run_rollups')
      .values(rows.slice(i, i + INSERT_ROWS).map((r) => ({ run_id: runId, ...r })))
      .onConflict((oc) =>
        oc.columns(['run_id', 'level', 'bucket']).doUpdateSet({ stats: (eb) => eb.ref('excluded.stats') }),
      )
      .execute();
}

export class HistoryRepo {
  private readonly db: Kysely<Schema>;

  constructor(db: Db) {
    this.db = db.kysely;
  }

  /** The first and last step that has an event of this kind, or null when none has. */
  async bounds(runId: string, kind: Kind): Promise<{ first: number; last: number } | null> {
    // two queries: SQLite answers a lone MIN or MAX from the index, both at once by a scan
    const of = this.db.selectFrom('run_events').where('run_id', '=', runId).where('kind', '=', kind);
    const [a, b] = await Promise.all([
      of.select((eb) => eb.fn.min('step').as('step')).executeTakeFirst(),
      of.select((eb) => eb.fn.max('step').as('step')).executeTakeFirst(),
    ]);
    if (a?.step === null || a?.step === undefined || b?.step === null || b?.step === undefined) return null;
    return { first: Number(a.step), last: Number(b.step) };
  }

  async hasRollups(runId: string): Promise<boolean> {
    const r = await this.db
      .selectFrom('run_rollups')
      .select('level')
      .where('run_id', '=', runId)
      .limit(1)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** Rollups of one level for buckets lo..hi, in bucket order (buckets no step fell in are absent). */
  async rollups(
    runId: string,
    level: number,
    lo: number,
    hi: number,
  ): Promise<{ bucket: number; stats: Uint8Array }[]> {
    const rows = await this.db
      .selectFrom('run_rollups')
      .select(['bucket', 'stats'])
      .where('run_id', '=', runId)
      .where('level', '=', level)
      .where('bucket', '>=', lo)
      .where('bucket', '<=', hi)
      .orderBy('bucket')
      .execute();
    return rows.map((r) => ({ bucket: Number(r.bucket), stats: r.stats }));
  }

  /** Events of a kind with from ≤ step ≤ to, in step order, at most `limit`. */
  async frames(runId: string, kind: Kind, from: number, to: number, limit: number): Promise<StepRow[]> {
    const rows = await this.db
      .selectFrom('run_events')
      .select(['step', 'frame'])
      .where('run_id', '=', runId)
      .where('kind', '=', kind)
      .where('step', '>=', from)
      .where('step', '<=', Math.min(to, LAST_STEP))
      .orderBy('step')
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ step: Number(r.step), frame: r.frame }));
  }

  /** Events of a kind at these steps (one each, the first recorded), in step order. */
  async framesAt(runId: string, kind: Kind, steps: readonly number[]): Promise<StepRow[]> {
    if (steps.length === 0) return [];
    const rows = await this.db
      .selectFrom('run_events')
      .select(['step', 'frame'])
      .where('run_id', '=', runId)
      .where('kind', '=', kind)
      .where('step', 'in', [...steps])
      .orderBy('step')
      .orderBy('seq')
      .execute();
    const out: StepRow[] = [];
    for (const r of rows) if (out.at(-1)?.step !== Number(r.step)) out.push({ step: Number(r.step), frame: r.frame });
    return out;
  }

  async count(runId: string, kind: Kind, from: number, to: number): Promise<number> {
    const r = await this.db
      .selectFrom('run_events')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('run_id', '=', runId)
      .where('kind', '=', kind)
      .where('step', '>=', from)
      .where('step', '<=', Math.min(to, LAST_STEP))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Like frames, only the steps `origin + k·every` (every ≥ 1). */
  async framesEvery(
    runId: string,
    kind: Kind,
    from: number,
    to: number,
    origin: number,
    every: number,
    limit: number,
  ): Promise<StepRow[]> {
    const rows = await this.db
      .selectFrom('run_events')
      .select(['step', 'frame'])
      .where('run_id', '=', runId)
      .where('kind', '=', kind)
      .where('step', '>=', from)
      .where('step', '<=', Math.min(to, LAST_STEP))
      .where(sql<number>`(step - ${origin}) % ${every}`, '=', 0)
      .orderBy('step')
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ step: Number(r.step), frame: r.frame }));
  }

  /** Writes rollups rebuilt from an event log that has none (a run recorded before they existed). */
  async putRollups(runId: string, rows: readonly RollupRow[]): Promise<void> {
    await this.db.transaction().execute((trx) => upsertRollups(trx, runId, rows));
  }

  async clearRollups(runId: string): Promise<void> {
    await this.db.deleteFrom('run_rollups').where('run_id', '=', runId).execute();
  }
}
