// Training runs and their event logs: prepared statements and the row mapper.
import type { ElmanConfig, Params } from '../core/model.js';
import type { Run, RunStatus } from '../schemas/runs.js';
import type { RunSpec } from '../training/spec.js';
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

/** A run's latest checkpoint: the step it resumes at, a JSON header and the state's bytes (training/checkpoint.ts). */
export interface StoredCheckpoint {
  step: number;
  meta: string;
  bytes: Uint8Array;
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
      start: db.prepare<[string, string], { attempts: number }>(
        "UPDATE runs SET status = 'running', started_at = COALESCE(started_at, ?), attempts = attempts + 1 WHERE id = ? RETURNING attempts",
      ),
      requeue: db.prepare<[number, string]>("UPDATE runs SET status = 'queued', attempts = attempts - ? WHERE id = ?"),
      attempts: db.prepare<[string], { attempts: number }>('SELECT attempts FROM runs WHERE id = ?'),
      saveCheckpoint: db.prepare(
        `INSERT INTO run_checkpoints (run_id, step, meta, state, created_at) VALUES (@id, @step, @meta, @state, @now)
         ON CONFLICT (run_id) DO UPDATE SET step = excluded.step, meta = excluded.meta, state = excluded.state, created_at = excluded.created_at`,
      ),
      checkpoint: db.prepare<[string], { step: number; meta: string; state: Buffer }>(
        'SELECT step, meta, state FROM run_checkpoints WHERE run_id = ?',
      ),
      dropCheckpoint: db.prepare('DELETE FROM run_checkpoints WHERE run_id = ?'),
      finish: db.prepare(
        `UPDATE runs SET status = @status, step = @step, evaluation = @evaluation, model_id = @modelId, reason = @reason, finished_at = @now
         WHERE id = @id AND status NOT IN ('succeeded', 'failed', 'cancelled')`,
      ),
      progress: db.prepare('UPDATE runs SET step = ?, loss = ?, accuracy = ? WHERE id = ?'),
      // a step's event is written once: a resumed run recomputes the steps after its checkpoint
      append: db.prepare(
        `INSERT INTO run_events (run_id, seq, step, kind, frame) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (run_id, kind, step) WHERE kind <> 'status' DO NOTHING`,
      ),
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

  /** The run begins training (again): counts the attempt and returns how many there have been. */
  markRunning(id: string): number {
    return this.s.start.get(new Date().toISOString(), id)?.attempts ?? 0;
  }

  /** Back to `queued` (to resume from its checkpoint); `refund` when the attempt should not count (a graceful stop). */
  requeue(id: string, refund: boolean): void {
    this.s.requeue.run(refund ? 1 : 0, id);
  }

  attempts(id: string): number {
    return this.s.attempts.get(id)?.attempts ?? 0;
  }

  /** Replaces the run's checkpoint (only the latest is kept). */
  saveCheckpoint(id: string, c: StoredCheckpoint): void {
    this.s.saveCheckpoint.run({
      id,
      step: c.step,
      meta: c.meta,
      state: Buffer.from(c.bytes.buffer, c.bytes.byteOffset, c.bytes.byteLength),
      now: new Date().toISOString(),
    });
  }

  checkpoint(id: string): StoredCheckpoint | undefined {
    const r = this.s.checkpoint.get(id);
    return r ? { step: r.step, meta: r.meta, bytes: r.state } : undefined;
  }

  /** Records a final status; false (and nothing changes) when the run is final already. */
  finish(
    id: string,
    f: { status: RunStatus; step: number; evaluation?: unknown; modelId?: string | null; reason?: string | null },
  ): boolean {
    // a final run resumes no more; its trained weights are a model
    this.s.dropCheckpoint.run(id);
    return (
      this.s.finish.run({
        id,
        status: f.status,
        step: f.step,
        evaluation: f.evaluation ? JSON.stringify(f.evaluation) : null,
        modelId: f.modelId ?? null,
        reason: f.reason ?? null,
        now: new Date().toISOString(),
      }).changes > 0
    );
  }

  /**
   * Appends events, numbered from `afterSeq` + 1, and the run's progress in one transaction (a batch from a
   * worker costs one commit). A step's `step` or `hidden` event that is in the log already is skipped (a
   * resumed run recomputes the steps after its checkpoint): returns the events written, with their numbers.
   */
  readonly record = (
    id: string,
    afterSeq: number,
    events: Omit<StoredEvent, 'seq'>[],
    progress?: { step: number; loss: number; accuracy: number },
  ): StoredEvent[] =>
    this.db.transaction(() => {
      const stored: StoredEvent[] = [];
      let seq = afterSeq;
      for (const e of events)
        if (this.s.append.run(id, seq + 1, e.step, e.kind, e.frame).changes === 1) stored.push({ ...e, seq: ++seq });
      // progress moves with the log: a recomputed step that was skipped does not move it back
      if (progress && stored.some((e) => e.kind === 'step' && e.step === progress.step - 1))
        this.s.progress.run(progress.step, progress.loss, progress.accuracy, id);
      return stored;
    })();

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
