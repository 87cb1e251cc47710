// Training runs and their event logs: prepared statements and the row mapper.
import type { ElmanConfig, Params } from '../core/model.js';
import type { Run, RunStatus } from '../schemas/runs.js';
import type { RunSpec } from '../training/spec.js';
import type { RollupRow } from './history.repo.js';
import { packParams, unpackParams } from './models.repo.js';
import type { Db } from './open.js';

interface Row {
  id: string;
  name: string | null;
  status: RunStatus;
  task: string | null;
  spec: string;
  step: number;
  steps: number;
  loss: number | null;
  accuracy: number | null;
  evaluation: string | null;
  model_id: string | null;
  reason: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** A recorded event: its place in the log, its step and its JSON frame. */
export interface StoredEvent {
  seq: number;
  step: number;
  kind: string;
  frame: string;
  /** The frame's UTF-8 bytes, when it goes to several sockets. */
  bytes?: Buffer;
}

/** What a worker needs to train a run. */
export interface RunInputs {
  spec: RunSpec;
  params: Params;
  dataX: Float64Array | null;
  dataTargets: Float64Array | null;
}

const COLUMNS =
  'id, name, status, task, spec, step, steps, loss, accuracy, evaluation, model_id, reason, created_at, started_at, finished_at';

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

export class RunsRepo {
  private readonly s;

  constructor(private readonly db: Db) {
    this.s = {
      insert: db.prepare(
        `INSERT INTO runs (id, name, status, task, spec, init_params, data_x, data_targets, steps, created_at)
         VALUES (@id, @name, 'queued', @task, @spec, @params, @dataX, @dataTargets, @steps, @now)`,
      ),
      get: db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM runs WHERE id = ?`),
      inputs: db.prepare<
        [string],
        { spec: string; init_params: Buffer; data_x: Buffer | null; data_targets: Buffer | null }
      >('SELECT spec, init_params, data_x, data_targets FROM runs WHERE id = ?'),
      list: db.prepare<[string | null, string | null, number, number], Row>(
        `SELECT ${COLUMNS} FROM runs WHERE (? IS NULL OR status = ?) ORDER BY created_at DESC, id LIMIT ? OFFSET ?`,
      ),
      count: db.prepare<[string | null, string | null], { n: number }>(
        'SELECT COUNT(*) AS n FROM runs WHERE (? IS NULL OR status = ?)',
      ),
      idsByStatus: db.prepare<[string], { id: string }>('SELECT id FROM runs WHERE status = ? ORDER BY created_at, id'),
      start: db.prepare("UPDATE runs SET status = 'running', started_at = ? WHERE id = ?"),
      finish: db.prepare(
        'UPDATE runs SET status = @status, step = @step, evaluation = @evaluation, model_id = @modelId, reason = @reason, finished_at = @now WHERE id = @id',
      ),
      progress: db.prepare('UPDATE runs SET step = ?, loss = ?, accuracy = ? WHERE id = ?'),
      append: db.prepare('INSERT INTO run_events (run_id, seq, step, kind, frame) VALUES (?, ?, ?, ?, ?)'),
      rollup: db.prepare('INSERT OR REPLACE INTO run_rollups (run_id, level, bucket, stats) VALUES (?, ?, ?, ?)'),
      lastSeq: db.prepare<[string], { seq: number | null }>('SELECT MAX(seq) AS seq FROM run_events WHERE run_id = ?'),
      events: db.prepare<[string, number, number, number], StoredEvent>(
        'SELECT seq, step, kind, frame FROM run_events WHERE run_id = ? AND seq > ? AND step > ? ORDER BY seq LIMIT ?',
      ),
      delete: db.prepare('DELETE FROM runs WHERE id = ?'),
    };
  }

  insert(r: {
    id: string;
    name: string | null;
    task: string | null;
    spec: RunSpec;
    params: Params;
    dataX: Float64Array | null;
    dataTargets: Float64Array | null;
  }): void {
    this.s.insert.run({
      id: r.id,
      name: r.name,
      task: r.task,
      spec: JSON.stringify(r.spec),
      params: packParams(r.params),
      dataX: r.dataX ? bytes(r.dataX) : null,
      dataTargets: r.dataTargets ? bytes(r.dataTargets) : null,
      steps: r.spec.steps,
      now: new Date().toISOString(),
    });
  }

  get(id: string): Run | undefined {
    const r = this.s.get.get(id);
    return r ? rowToRun(r) : undefined;
  }

  inputs(id: string, config: ElmanConfig): RunInputs | undefined {
    const r = this.s.inputs.get(id);
    if (!r) return undefined;
    return {
      spec: JSON.parse(r.spec),
      params: unpackParams(config, r.init_params),
      dataX: floats(r.data_x),
      dataTargets: floats(r.data_targets),
    };
  }

  spec(id: string): RunSpec | undefined {
    const r = this.s.inputs.get(id);
    return r ? JSON.parse(r.spec) : undefined;
  }

  list(limit: number, offset: number, status?: RunStatus): { runs: Run[]; total: number } {
    const st = status ?? null;
    return {
      runs: this.s.list.all(st, st, limit, offset).map(rowToRun),
      total: this.s.count.get(st, st)!.n,
    };
  }

  idsWithStatus(status: RunStatus): string[] {
    return this.s.idsByStatus.all(status).map((r) => r.id);
  }

  markRunning(id: string): void {
    this.s.start.run(new Date().toISOString(), id);
  }

  finish(
    id: string,
    f: { status: RunStatus; step: number; evaluation?: unknown; modelId?: string | null; reason?: string | null },
  ): void {
    this.s.finish.run({
      id,
      status: f.status,
      step: f.step,
      evaluation: f.evaluation ? JSON.stringify(f.evaluation) : null,
      modelId: f.modelId ?? null,
      reason: f.reason ?? null,
      now: new Date().toISOString(),
    });
  }

  /**
   * Appends events, the rollups they complete and the run's progress in one transaction (a batch from a
   * worker costs one commit, and the rollups never disagree with the log).
   */
  readonly record = (
    id: string,
    events: StoredEvent[],
    progress?: { step: number; loss: number; accuracy: number },
    rollups: readonly RollupRow[] = [],
  ) => {
    this.db.transaction(() => {
      for (const e of events) this.s.append.run(id, e.seq, e.step, e.kind, e.frame);
      for (const r of rollups) this.s.rollup.run(id, r.level, r.bucket, r.stats);
      if (progress) this.s.progress.run(progress.step, progress.loss, progress.accuracy, id);
    })();
  };

  lastSeq(id: string): number {
    return this.s.lastSeq.get(id)?.seq ?? 0;
  }

  /** Up to `limit` events after `afterSeq` whose step is after `sinceStep`, in log order. */
  events(id: string, afterSeq: number, sinceStep: number, limit: number): StoredEvent[] {
    return this.s.events.all(id, afterSeq, sinceStep, limit);
  }

  delete(id: string): boolean {
    return this.s.delete.run(id).changes > 0;
  }
}
