// Training runs and their event logs: queries and the row mapper.
import { type Kysely, type Selectable, sql } from 'kysely';
import { type ElmanConfig, PARAM_OF, type Params, WEIGHT_KEYS, zeroParams } from '../core/model.js';
import type { Run, RunSpec, RunStatus } from '../schemas/runs.js';
import { deleteBlob, readBlob, readFloats, reclaimPages, writeBlob, writeFloats } from './blobs.js';
import { type RollupRow, upsertRollups } from './history.repo.js';
import type { Db } from './open.js';
import type { RunsTable, Schema } from './schema.js';

/** A run's row as the queries select it: every column but the stored tensors and the attempts, its status as the schema's. */
type Row = Omit<Selectable<RunsTable>, 'init_params_id' | 'data_x' | 'data_targets' | 'attempts' | 'status'> & {
  status: RunStatus;
};

/** A recorded event: its place in the log, its step and its JSON frame. */
export interface StoredEvent {
  seq: number;
  step: number;
  kind: string;
  frame: string;
  /** The frame's UTF-8 bytes, when it goes to several sockets. */
  bytes?: Buffer;
}

/** A run's latest checkpoint: the step it resumes at, a JSON header and the state's bytes (training/checkpoint.ts). */
export interface StoredCheckpoint {
  step: number;
  meta: string;
  bytes: Uint8Array;
  /** Bytes of the run's event log (its step and hidden frames) up to this checkpoint; null when not recorded (before migration 008). */
  logBytes?: number | null;
}

/** What a worker needs to train a run. */
export interface RunInputs {
  spec: RunSpec;
  params: Params;
  dataX: Float64Array | null;
  dataTargets: Float64Array | null;
}

const COLUMNS = [
  'id',
  'name',
  'status',
  'task',
  'spec',
  'step',
  'steps',
  'loss',
  'accuracy',
  'evaluation',
  'model_id',
  'reason',
  'created_at',
  'started_at',
  'finished_at',
] as const;

const FINAL = ['succeeded', 'failed', 'cancelled'];

const tensorsOf = (p: Params) => WEIGHT_KEYS.map((k) => p[PARAM_OF[k]]);
/** Times a checkpoint read starts again when the checkpoint was replaced while it was read. */
const READ_TRIES = 5;

const floats = (b: Buffer | null) => (b ? new Float64Array(new Uint8Array(b).buffer) : null);
const bytes = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

export function rowToRun(r: Row): Run {
  const spec: RunSpec = JSON.parse(r.spec);
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    step: r.step,
    steps: r.steps,
    metrics: { loss: r.loss, accuracy: r.accuracy },
    evaluation: r.evaluation ? JSON.parse(r.evaluation) : null,
    modelId: r.model_id,
    reason: r.reason,
    task: r.task,
    config: spec.config,
    length: spec.source.kind === 'task' ? spec.source.params.length : spec.source.T,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** Events per INSERT: well under both dialects' limit on bound parameters (5 a row). */
const INSERT_ROWS = 1000;

/** How a run ended: its final row, written with its last status event. */
export interface RunEnd {
  status: RunStatus;
  step: number;
  evaluation?: unknown;
  modelId?: string | null;
  reason?: string | null;
}

export class RunsRepo {
  private readonly db: Kysely<Schema>;
  private readonly dialect: Db['dialect'];

  constructor(db: Db) {
    this.db = db.kysely;
    this.dialect = db.dialect;
  }

  async insert(r: {
    id: string;
    name: string | null;
    task: string | null;
    spec: RunSpec;
    params: Params;
    dataX: Float64Array | null;
    dataTargets: Float64Array | null;
  }): Promise<void> {
    // the weights as a blob first (a row per turn: 64 MB at UNROLL_MAX_PARAMS); the run exists once its row does
    const initParamsId = await writeFloats(this.db, tensorsOf(r.params));
    await this.db
      .insertInto('runs')
      .values({
        id: r.id,
        name: r.name,
        status: 'queued',
        task: r.task,
        spec: JSON.stringify(r.spec),
        init_params_id: initParamsId,
        data_x: r.dataX ? bytes(r.dataX) : null,
        data_targets: r.dataTargets ? bytes(r.dataTargets) : null,
        steps: r.spec.steps,
        created_at: new Date().toISOString(),
      })
      .execute()
      .catch(async (err) => {
        await deleteBlob(this.db, initParamsId).catch(() => {});
        throw err;
      });
  }

  async get(id: string): Promise<Run | undefined> {
    const r = await this.db.selectFrom('runs').select(COLUMNS).where('id', '=', id).executeTakeFirst();
    return r ? rowToRun(r as Row) : undefined;
  }

  async inputs(id: string, config: ElmanConfig): Promise<RunInputs | undefined> {
    const r = await this.db
      .selectFrom('runs')
      .select(['spec', 'init_params_id', 'data_x', 'data_targets'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!r) return undefined;
    const params = zeroParams(config);
    // a run's initial weights never change: a blob that is not whole means the run was deleted meanwhile
    if (!(await readFloats(this.db, r.init_params_id, tensorsOf(params)))) return undefined;
    return {
      spec: JSON.parse(r.spec),
      params,
      dataX: floats(r.data_x),
      dataTargets: floats(r.data_targets),
    };
  }

  async spec(id: string): Promise<RunSpec | undefined> {
    const r = await this.db.selectFrom('runs').select('spec').where('id', '=', id).executeTakeFirst();
    return r ? JSON.parse(r.spec) : undefined;
  }

  async list(limit: number, offset: number, status?: RunStatus): Promise<{ runs: Run[]; total: number }> {
    const of = this.db.selectFrom('runs').$if(status !== undefined, (q) => q.where('status', '=', status!));
    const [rows, count] = await Promise.all([
      of.select(COLUMNS).orderBy('created_at', 'desc').orderBy('id').limit(limit).offset(offset).execute(),
      of.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { runs: rows.map((r) => rowToRun(r as Row)), total: Number(count.n) };
  }

  async idsWithStatus(status: RunStatus): Promise<string[]> {
    const rows = await this.db
      .selectFrom('runs')
      .select('id')
      .where('status', '=', status)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * → running, counting the attempt: returns how many there have been, or 0 when the run is in none of
   * the statuses `from` (cancelled, deleted, or taken by another process). A run whose worker died is
   * still `running`: the queue that hands it on (BullMQ) claims it from there.
   */
  async claim(id: string, from: readonly RunStatus[] = ['queued']): Promise<number> {
    const r = await this.db
      .updateTable('runs')
      .set((eb) => ({
        status: 'running',
        started_at: eb.fn.coalesce('started_at', eb.val(new Date().toISOString())),
        attempts: eb('attempts', '+', 1),
      }))
      .where('id', '=', id)
      .where('status', 'in', [...from])
      .returning('attempts')
      .executeTakeFirst();
    return r?.attempts ?? 0;
  }

  /** Back to `queued` (to resume from its checkpoint); `refund` when the attempt should not count (a graceful stop). */
  async requeue(id: string, refund: boolean): Promise<void> {
    await this.db
      .updateTable('runs')
      .set((eb) => ({ status: 'queued', attempts: eb('attempts', '-', refund ? 1 : 0) }))
      .where('id', '=', id)
      .execute();
  }

  async attempts(id: string): Promise<number> {
    const r = await this.db.selectFrom('runs').select('attempts').where('id', '=', id).executeTakeFirst();
    return r?.attempts ?? 0;
  }

  /**
   * Replaces the run's checkpoint (only the latest is kept): the new state is written as a blob (a row per
   * turn; an Adam checkpoint at UNROLL_MAX_PARAMS is 256 MB), swapped in, and the old blob deleted.
   */
  async saveCheckpoint(id: string, c: StoredCheckpoint): Promise<void> {
    const stateId = await writeBlob(this.db, [c.bytes]);
    const row = {
      step: c.step,
      meta: c.meta,
      state_id: stateId,
      state_bytes: c.bytes.byteLength,
      created_at: new Date().toISOString(),
      log_bytes: c.logBytes ?? null,
    };
    let old: string | undefined;
    try {
      old = await this.db.transaction().execute(async (trx) => {
        const before = await trx
          .selectFrom('run_checkpoints')
          .select('state_id')
          .where('run_id', '=', id)
          .executeTakeFirst();
        await trx
          .insertInto('run_checkpoints')
          .values({ run_id: id, ...row })
          .onConflict((oc) => oc.column('run_id').doUpdateSet(row))
          .execute();
        return before?.state_id;
      });
    } catch (err) {
      await deleteBlob(this.db, stateId).catch(() => {});
      throw err;
    }
    if (old) await this.dropBlobs([old]);
  }

  /** The step the run's checkpoint resumes at, without reading its state; 0 without one. */
  async checkpointStep(id: string): Promise<number> {
    const r = await this.db.selectFrom('run_checkpoints').select('step').where('run_id', '=', id).executeTakeFirst();
    return r?.step ?? 0;
  }

  async checkpoint(id: string): Promise<StoredCheckpoint | undefined> {
    for (let tries = 0; tries < READ_TRIES; tries++) {
      const r = await this.db
        .selectFrom('run_checkpoints')
        .select(['step', 'meta', 'state_id', 'state_bytes', 'log_bytes'])
        .where('run_id', '=', id)
        .executeTakeFirst();
      if (!r) return undefined;
      const bytes = new Uint8Array(Number(r.state_bytes));
      if (await readBlob(this.db, r.state_id, [bytes]))
        return { step: r.step, meta: r.meta, bytes, logBytes: r.log_bytes === null ? null : Number(r.log_bytes) };
      // replaced while it was read: read the new one
    }
    throw new Error(`the checkpoint of run ${id} changed during ${READ_TRIES} reads in a row`);
  }

  /** Blobs whose owner row is gone, and the pages they held (SQLite). */
  private async dropBlobs(ids: readonly string[]): Promise<void> {
    for (const blob of ids) await deleteBlob(this.db, blob);
    await reclaimPages(this.db, this.dialect);
  }

  /**
   * Bytes of the step and hidden frames of the run's log before step `beforeStep`, summed `slice` events per
   * statement (a 1 GiB log is ~10⁵ events): for a checkpoint that did not record them.
   */
  async logBytes(
    id: string,
    beforeStep: number,
    slice = 2000,
    between: () => Promise<void> = async () => {},
  ): Promise<number> {
    let bytes = 0;
    for (let after = 0; ; ) {
      const r = await sql<{ bytes: number | string | null; last: number | string | null }>`
        SELECT SUM(LENGTH(frame)) AS bytes, MAX(seq) AS last FROM (
          SELECT seq, frame FROM run_events
          WHERE run_id = ${id} AND seq > ${after} AND kind <> 'status' AND step < ${beforeStep}
          ORDER BY seq LIMIT ${slice}
        ) AS part`.execute(this.db);
      const row = r.rows[0];
      if (!row || row.last === null) return bytes;
      bytes += Number(row.bytes ?? 0);
      after = Number(row.last);
      await between();
    }
  }

  /**
   * Appends events, the rollups they complete, and the run's progress or its end, in one transaction (a
   * batch from a worker costs one commit; a final row and its status event are seen together or not at all;
   * the rollups never disagree with the log). A step's `step` or `hidden` event that is in the log already
   * is skipped (a resumed run recomputes the steps after its checkpoint; their rollups are the same values
   * again, upserted), and an end for a run that is final already writes nothing: returns the events written.
   */
  async record(
    id: string,
    events: StoredEvent[],
    progress?: { step: number; loss: number; accuracy: number },
    end?: RunEnd,
    rollups: readonly RollupRow[] = [],
  ): Promise<StoredEvent[]> {
    // a final run resumes no more: its checkpoint's blob goes once the end is committed
    let dropped: string | undefined;
    const result = await this.db.transaction().execute(async (trx) => {
      if (end) {
        const now = await trx.selectFrom('runs').select('status').where('id', '=', id).executeTakeFirst();
        // once: a run another process settled first (a cancel racing the end, say) keeps its outcome
        if (!now || FINAL.includes(now.status)) return [];
        const gone = await trx
          .deleteFrom('run_checkpoints')
          .where('run_id', '=', id)
          .returning('state_id')
          .executeTakeFirst();
        if (gone) dropped = gone.state_id;
      }
      const written = new Set<number>();
      for (let i = 0; i < events.length; i += INSERT_ROWS) {
        const rows = await trx
          .insertInto('run_events')
          .values(
            events
              .slice(i, i + INSERT_ROWS)
              .map((e) => ({ run_id: id, seq: e.seq, step: e.step, kind: e.kind, frame: e.frame })),
          )
          .onConflict((oc) =>
            // the index's own predicate, as a literal: PostgreSQL matches a partial index by it
            oc.columns(['run_id', 'kind', 'step']).where(sql<boolean>`kind <> 'status'`).doNothing(),
          )
          .returning('seq')
          .execute();
        for (const r of rows) written.add(Number(r.seq));
      }
      const stored = events.filter((e) => written.has(e.seq));
      await upsertRollups(trx, id, rollups);
      // progress moves with the log: a recomputed step that was skipped does not move it back
      if (progress && stored.some((e) => e.kind === 'step' && e.step === progress.step - 1))
        await trx
          .updateTable('runs')
          .set({ step: progress.step, loss: progress.loss, accuracy: progress.accuracy })
          .where('id', '=', id)
          .execute();
      if (end)
        await trx
          .updateTable('runs')
          .set({
            status: end.status,
            step: end.step,
            evaluation: end.evaluation ? JSON.stringify(end.evaluation) : null,
            model_id: end.modelId ?? null,
            reason: end.reason ?? null,
            finished_at: new Date().toISOString(),
          })
          .where('id', '=', id)
          .execute();
      return stored;
    });
    if (dropped) await deleteBlob(this.db, dropped);
    return result;
  }

  async lastSeq(id: string): Promise<number> {
    const r = await this.db
      .selectFrom('run_events')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .where('run_id', '=', id)
      .executeTakeFirst();
    return Number(r?.seq ?? 0);
  }

  /** Up to `limit` events after `afterSeq` whose step is after `sinceStep`, in log order. */
  async events(id: string, afterSeq: number, sinceStep: number, limit: number): Promise<StoredEvent[]> {
    return this.db
      .selectFrom('run_events')
      .select(['seq', 'step', 'kind', 'frame'])
      .where('run_id', '=', id)
      .where('seq', '>', afterSeq)
      .where('step', '>', sinceStep)
      .orderBy('seq')
      .limit(limit)
      .execute();
  }

  /** Deletes the run's row (its checkpoint's with it), then their blobs; the log goes first (deleteEvents). */
  async delete(id: string): Promise<boolean> {
    const checkpoint = await this.db
      .selectFrom('run_checkpoints')
      .select('state_id')
      .where('run_id', '=', id)
      .executeTakeFirst();
    const r = await this.db.deleteFrom('runs').where('id', '=', id).returning('init_params_id').executeTakeFirst();
    if (!r) return false;
    // without the pages: the caller reclaims them once, after the log's (RunManager.delete)
    for (const blob of [r.init_params_id, checkpoint?.state_id]) if (blob) await deleteBlob(this.db, blob);
    return true;
  }

  /** Deletes up to `limit` of a run's oldest events; how many went (a long log is deleted in slices). */
  async deleteEvents(id: string, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('run_events')
      .where('run_id', '=', id)
      .where('seq', 'in', (eb) =>
        eb.selectFrom('run_events').select('seq').where('run_id', '=', id).orderBy('seq').limit(limit),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /**
   * Gives up to `pages` free pages back to the file system and says how many are left: SQLite files created
   * with auto_vacuum = INCREMENTAL (older files reuse the pages for new rows instead); PostgreSQL's
   * autovacuum does this by itself, so there it is 0.
   */
  async reclaim(pages: number): Promise<number> {
    if (this.dialect !== 'sqlite') return 0;
    await sql.raw(`PRAGMA incremental_vacuum(${Math.max(1, Math.floor(pages))})`).execute(this.db);
    const r = await sql<{ freelist_count: number }>`PRAGMA freelist_count`.execute(this.db);
    return Number(r.rows[0]?.freelist_count ?? 0);
  }
}
