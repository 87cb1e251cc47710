// RunManager: creates runs, keeps the queue (persisted as status `queued`), starts up to `concurrency` runs
// in the run pool, records their events in SQLite in one transaction per worker batch and fans them out
// in the same tick, stores the trained weights as a model, and settles every run exactly once.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import type { ElmanConfig, Params } from '../core/model.js';
import type { RunsRepo, StoredEvent } from '../db/runs.repo.js';
import { AppError } from '../errors.js';
import type { RunHistory } from '../schemas/history.js';
import { type CreateRunBody, FINAL_STATUSES, type Run, type RunStatus } from '../schemas/runs.js';
import type { RunHandle, RunPool } from '../workers/run-pool.js';
import type { ExportFormat } from './history/export.js';
import type { HistoryRequest, HistoryService } from './history/service.js';
import type { RunHub } from './hub.js';
import { type Outcome, RunLog } from './log.js';
import { CONTROL, type WorkerMessage } from './protocol.js';
import { type RunLimits, resolveRun } from './spec.js';

/** How long after its worker returned a run may wait for the worker's last message. */
const RESULT_GRACE_MS = 2000;

export interface RunManagerOptions {
  /** Runs that train at once (the run pool's threads). */
  concurrency: number;
  /** Queued runs beyond this are refused with 503. */
  maxQueued: number;
  /** A cancelled run that has not stopped after this long has its thread terminated. */
  cancelGraceMs: number;
  limits: RunLimits;
}

export interface ModelAccess {
  get(id: string): { config: ElmanConfig; params: Params };
  store(config: ElmanConfig, params: Params, source: string): string;
}

interface Active {
  handle: RunHandle;
  step: number;
  /** Set when someone asked the run to stop: what to record when it does. */
  stop: { status: 'cancelled' | 'failed'; reason: string } | null;
  settled: boolean;
  done: Promise<void>;
  resolve: () => void;
}

export class RunManager {
  private readonly log: RunLog;
  private readonly queue: string[] = [];
  private readonly active = new Map<string, Active>();
  private closing = false;

  constructor(
    private readonly repo: RunsRepo,
    private readonly models: ModelAccess,
    private readonly pool: RunPool,
    private readonly opts: RunManagerOptions,
    /** A run's downsampled history, its snapshots and its export; the rollups it reads are kept by the log. */
    private readonly histories: HistoryService,
    private readonly logger?: FastifyBaseLogger,
  ) {
    this.log = new RunLog(repo, histories.writer);
  }

  /** Who follows which run (the live half of GET /v1/runs/:id/events). */
  get hub(): RunHub {
    return this.log.hub;
  }

  /** After a restart: a run left `running` died with the old process (failed, with the reason); queued runs queue again. */
  recover(): void {
    for (const id of this.repo.idsWithStatus('running')) {
      const step = this.repo.get(id)?.step ?? 0;
      this.log.finish(id, {
        status: 'failed',
        step,
        reason: `the server stopped while this run was training (at step ${step}); runs are not resumed`,
      });
    }
    this.queue.push(...this.repo.idsWithStatus('queued'));
    this.pump();
  }

  create(body: CreateRunBody): { id: string; status: 'queued' } {
    if (this.closing)
      throw new AppError('overloaded', 'the server is shutting down', undefined, { 'retry-after': '5' });
    // the runs that would still wait after every free thread took one
    const waiting = this.queue.length + this.active.size - this.opts.concurrency;
    if (waiting >= this.opts.maxQueued)
      throw new AppError(
        'overloaded',
        `${Math.max(waiting, 0)} runs are queued already (UNROLL_RUNS_MAX_QUEUED = ${this.opts.maxQueued})`,
        undefined,
        { 'retry-after': '30' },
      );
    const r = resolveRun(body, (id) => this.models.get(id), this.opts.limits);
    const id = randomUUID();
    const task = r.spec.source.kind === 'task' ? r.spec.source.name : null;
    this.repo.insert({ id, name: body.name ?? null, task, ...r });
    this.log.status(id, { event: 'status', status: 'queued', step: 0 });
    this.queue.push(id);
    // after the 202 is on its way: the answer says queued, and is
    setImmediate(() => this.pump());
    return { id, status: 'queued' };
  }

  get(id: string): Run {
    const run = this.repo.get(id);
    if (!run) throw new AppError('not-found', `no run with id "${id}"`);
    return run;
  }

  list(limit: number, offset: number, status?: RunStatus): { runs: Run[]; total: number } {
    return this.repo.list(limit, offset, status);
  }

  counts(): { queued: number; running: number } {
    return { queued: this.queue.length, running: this.active.size };
  }

  isFinal(id: string): boolean {
    const run = this.repo.get(id);
    return !run || FINAL_STATUSES.includes(run.status);
  }

  events(id: string, afterSeq: number, sinceStep: number, limit: number): StoredEvent[] {
    return this.repo.events(id, afterSeq, sinceStep, limit);
  }

  /** GET /v1/runs/:id/history: the series downsampled, single steps, snapshots. */
  history(id: string, q: HistoryRequest): Promise<RunHistory> {
    this.get(id);
    return this.histories.history(id, this.repo.spec(id)!, q);
  }

  /** GET /v1/runs/:id/export: every step, streamed. */
  export(id: string, format: ExportFormat): Readable {
    this.get(id);
    return this.histories.export(id, format);
  }

  /** Stops a run; resolves once it is settled, so the answer shows `cancelled` and its worker is free. */
  async cancel(id: string): Promise<Run> {
    const run = this.get(id);
    if (run.status === 'cancelled') return run;
    if (run.status === 'queued') {
      this.queue.splice(this.queue.indexOf(id), 1);
      this.log.finish(id, { status: 'cancelled', step: 0, reason: 'cancelled before it started' });
      return this.get(id);
    }
    const a = this.active.get(id);
    if (run.status !== 'running' || !a) throw new AppError('conflict', `the run has ${run.status} already`);
    this.stop(a, { status: 'cancelled', reason: 'cancelled by a client' });
    await a.done;
    return this.get(id);
  }

  delete(id: string): void {
    const run = this.get(id);
    if (!FINAL_STATUSES.includes(run.status))
      throw new AppError('conflict', `the run is ${run.status}: cancel it before deleting it`);
    this.repo.delete(id);
  }

  /** Graceful shutdown: running runs stop and are recorded failed (queued ones stay queued for the next start). */
  async close(): Promise<void> {
    this.closing = true;
    this.queue.length = 0;
    const running = [...this.active.values()];
    for (const a of running)
      this.stop(a, { status: 'failed', reason: 'the server shut down while this run was training' });
    await Promise.all(running.map((a) => a.done));
    await this.pool.close();
  }

  private stop(a: Active, why: NonNullable<Active['stop']>): void {
    a.stop ??= why;
    Atomics.store(a.handle.control, CONTROL.CANCEL, 1);
    Atomics.notify(a.handle.control, CONTROL.ACKED); // a worker waiting for an ack looks at the flag again
    setTimeout(() => {
      if (!a.settled) a.handle.terminate();
    }, this.opts.cancelGraceMs).unref();
  }

  private pump(): void {
    while (!this.closing && this.active.size < this.opts.concurrency && this.queue.length)
      this.start(this.queue.shift()!);
  }

  private start(id: string): void {
    const spec = this.repo.spec(id);
    const inputs = spec && this.repo.inputs(id, spec.config);
    if (!inputs) return; // deleted while queued
    this.repo.markRunning(id);
    this.log.status(id, { event: 'status', status: 'running', step: 0 });
    const handle = this.pool.start({ runId: id, ...inputs });
    let resolve!: () => void;
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    const a: Active = { handle, step: 0, stop: null, settled: false, done, resolve };
    this.active.set(id, a);
    handle.port.on('message', (m: WorkerMessage) => {
      try {
        this.onMessage(id, a, m);
      } catch (err) {
        // a failure to record (the database, say) fails this run, never the process
        this.logger?.error({ err, runId: id }, 'recording a run failed');
        this.stop(a, { status: 'failed', reason: 'the server could not record this run' });
      }
    });
    handle.finished.then(
      // a worker posts its last message before it returns; this is only a backstop should it never come
      () =>
        setTimeout(
          () => this.settle(id, a, { status: 'failed', step: a.step, reason: 'the run worker ended without a result' }),
          RESULT_GRACE_MS,
        ).unref(),
      (err) => {
        if (!a.stop) this.logger?.error({ err, runId: id }, 'run worker died');
        const reason = a.stop?.reason ?? `the run worker died: ${err instanceof Error ? err.message : String(err)}`;
        this.settle(id, a, { status: a.stop?.status ?? 'failed', step: a.step, reason });
      },
    );
  }

  private onMessage(id: string, a: Active, m: WorkerMessage): void {
    if (a.settled) return;
    if (m.type === 'events') {
      this.log.steps(id, m.events);
      const last = m.events.findLast((e) => e.kind === 'step');
      if (last) a.step = last.step + 1;
      Atomics.add(a.handle.control, CONTROL.ACKED, 1);
      Atomics.notify(a.handle.control, CONTROL.ACKED);
    } else if (m.type === 'failed') {
      this.settle(id, a, { status: 'failed', step: m.step, reason: m.reason });
    } else if (m.status === 'cancelled') {
      const stop = a.stop ?? { status: 'cancelled', reason: 'cancelled' };
      this.settle(id, a, { status: stop.status, step: m.step, reason: `${stop.reason} (at step ${m.step})` });
    } else {
      const config = this.repo.spec(id)!.config;
      const modelId = this.models.store(config, m.params, `run:${id}`);
      this.settle(id, a, { status: 'succeeded', step: m.step, modelId, evaluation: m.evaluation });
    }
  }

  private settle(id: string, a: Active, o: Outcome): void {
    if (a.settled) return;
    a.settled = true;
    a.handle.port.close();
    this.active.delete(id);
    try {
      this.log.finish(id, o);
    } catch (err) {
      // the row stays `running`; the next start records it failed, as after a crash
      this.logger?.error({ err, runId: id }, 'recording the end of a run failed');
    }
    a.resolve();
    this.pump();
  }
}
