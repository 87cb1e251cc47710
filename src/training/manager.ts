// RunManager: creates runs and queues them (the RunQueue seam: in memory, or BullMQ), trains the runs its
// queue hands it in the run pool (when this process trains), records their events in one transaction per
// worker batch and fans them out (the RunEvents seam), checkpoints them, stores the trained weights as a
// model, and settles every run exactly once. Cancels reach the process that trains the run (RunCancels).
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { ElmanConfig, Params } from '../core/model.js';
import type { RunsRepo, StoredEvent } from '../db/runs.repo.js';
import { AppError } from '../errors.js';
import { type CreateRunBody, FINAL_STATUSES, type Run, type RunStatus } from '../schemas/runs.js';
import type { RunHandle, RunPool } from '../workers/run-pool.js';
import type { RunCancels } from './cancels.js';
import type { RunEvents, RunListener } from './hub.js';
import { type Outcome, RunLog } from './log.js';
import { CONTROL, type WorkerMessage } from './protocol.js';
import type { Handled, RunQueue } from './queue.js';
import { type RunLimits, resolveRun } from './spec.js';

/** How long after its worker returned a run may wait for the worker's last message. */
const RESULT_GRACE_MS = 2000;
/** A cancel for a run another process trains is asked again this often until the run is final. */
const CANCEL_RETRY_MS = 250;

export interface RunManagerOptions {
  /** Runs that train at once (the run pool's threads). */
  concurrency: number;
  /** Queued runs beyond this are refused with 503. */
  maxQueued: number;
  /** A cancelled run that has not stopped after this long has its thread terminated. */
  cancelGraceMs: number;
  /** Steps between a run's checkpoints. */
  checkpointEvery: number;
  /** A run whose process died this many times while it trained is failed instead of resumed. */
  maxAttempts: number;
  limits: RunLimits;
}

export interface ModelAccess {
  get(id: string): { config: ElmanConfig; params: Params };
  store(config: ElmanConfig, params: Params, source: string): string;
}

interface Active {
  handle: RunHandle;
  step: number;
  /** Set when someone asked the run to stop: what to record when it does (`queued`: resume it at the next start). */
  stop: { status: 'cancelled' | 'failed' | 'queued'; reason: string } | null;
  settled: boolean;
  done: Promise<Handled>;
  resolve: (h: Handled) => void;
}

export class RunManager {
  private readonly log: RunLog;
  private readonly active = new Map<string, Active>();
  private closing = false;

  /** `pool` null: this process never trains (UNROLL_ROLE=api); the queue's other consumers do. */
  constructor(
    private readonly repo: RunsRepo,
    private readonly models: ModelAccess,
    private readonly pool: RunPool | null,
    private readonly queue: RunQueue,
    private readonly runEvents: RunEvents,
    private readonly cancels: RunCancels,
    private readonly opts: RunManagerOptions,
    private readonly logger?: FastifyBaseLogger,
  ) {
    this.log = new RunLog(repo, runEvents);
    cancels.onRequest((id) => {
      const a = this.active.get(id);
      if (a) this.stop(a, { status: 'cancelled', reason: 'cancelled by a client' });
    });
    if (pool)
      queue.process(
        (id) => this.train(id),
        (id, reason) => this.gaveUp(id, reason),
      );
  }

  /** The live half of GET /v1/runs/:id/events: resolves once every later event reaches `l`. */
  follow(runId: string, l: RunListener): Promise<() => void> {
    return this.runEvents.follow(runId, l);
  }

  /** Followers of a run in this process. */
  followers(runId: string): number {
    return this.runEvents.count(runId);
  }

  /**
   * After a restart: a run left `running` died with the old process. It queues again, first, to resume from
   * its last checkpoint, unless that was its UNROLL_RUN_MAX_ATTEMPTS-th death (failed, with the reason).
   * Queued runs queue again.
   */
  recover(): string[] {
    const resumed: string[] = [];
    for (const id of this.repo.idsWithStatus('running')) {
      const step = this.repo.get(id)?.step ?? 0;
      const attempts = this.repo.attempts(id);
      const max = this.opts.maxAttempts;
      if (attempts >= max) {
        this.log.finish(id, {
          status: 'failed',
          step,
          reason: `the server stopped while this run was training, ${attempts} times (UNROLL_RUN_MAX_ATTEMPTS = ${max}), the last at step ${step}`,
        });
        continue;
      }
      const from = this.repo.checkpoint(id)?.step ?? 0;
      this.repo.requeue(id, false);
      this.log.status(id, {
        event: 'status',
        status: 'queued',
        step: from,
        reason: `the server stopped while this run was training (at step ${step}); it resumes from step ${from} (attempt ${attempts + 1} of ${max})`,
      });
      this.logger?.info({ runId: id, step, from, attempt: attempts + 1 }, 'resuming a run from its checkpoint');
      resumed.push(id);
    }
    return [...resumed, ...this.repo.idsWithStatus('queued').filter((id) => !resumed.includes(id))];
  }

  async create(body: CreateRunBody): Promise<{ id: string; status: 'queued' }> {
    if (this.closing)
      throw new AppError('overloaded', 'the server is shutting down', undefined, { 'retry-after': '5' });
    // the runs that would still wait after every free thread took one
    const waiting = await this.queue.waiting();
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
    await this.queue.add(id);
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

  /** Runs this process trains now. */
  running(): number {
    return this.active.size;
  }

  /** Runs waiting for a process to train them (in Redis: for any process). */
  waiting(): Promise<number> {
    return this.queue.waiting();
  }

  isFinal(id: string): boolean {
    const run = this.repo.get(id);
    return !run || FINAL_STATUSES.includes(run.status);
  }

  events(id: string, afterSeq: number, sinceStep: number, limit: number): StoredEvent[] {
    return this.repo.events(id, afterSeq, sinceStep, limit);
  }

  /**
   * Stops a run; resolves once it is settled (wherever it trains), so the answer shows `cancelled` and its
   * worker is free. A queued run leaves the queue; a running one is asked to stop by the process that trains it.
   */
  async cancel(id: string): Promise<Run> {
    const run = this.get(id);
    if (run.status === 'cancelled') return run;
    if (FINAL_STATUSES.includes(run.status)) throw new AppError('conflict', `the run has ${run.status} already`);
    if (await this.queue.remove(id)) {
      this.log.finish(id, { status: 'cancelled', step: run.step, reason: 'cancelled before it started' });
      return this.get(id);
    }
    const a = this.active.get(id);
    if (a) {
      this.stop(a, { status: 'cancelled', reason: 'cancelled by a client' });
      await a.done;
      return this.get(id);
    }
    // another process trains it (or is about to start it): ask until it is final
    const deadline = Date.now() + this.opts.cancelGraceMs + RESULT_GRACE_MS;
    while (!this.isFinal(id) && Date.now() < deadline) {
      await this.cancels.request(id);
      await new Promise((r) => setTimeout(r, CANCEL_RETRY_MS));
    }
    return this.get(id);
  }

  delete(id: string): void {
    const run = this.get(id);
    if (!FINAL_STATUSES.includes(run.status))
      throw new AppError('conflict', `the run is ${run.status}: cancel it before deleting it`);
    this.repo.delete(id);
  }

  /**
   * Graceful shutdown: running runs stop and queue again, to resume from their last checkpoint at the next
   * start (not counted as an attempt); queued ones stay queued.
   */
  async close(): Promise<void> {
    this.closing = true;
    const running = [...this.active.values()];
    for (const a of running)
      this.stop(a, { status: 'queued', reason: 'the server shut down while this run was training' });
    await Promise.all(running.map((a) => a.done));
    await this.queue.close();
    await this.pool?.close();
    await this.cancels.close();
    await this.runEvents.close();
  }

  /** The queue gave up on a run whose process died too often: failed, with the reason, unless it is final. */
  private gaveUp(id: string, why: string): void {
    const run = this.repo.get(id);
    if (!run || FINAL_STATUSES.includes(run.status)) return;
    const max = this.opts.maxAttempts;
    this.log.finish(id, {
      status: 'failed',
      step: run.step,
      reason: `the process training this run stopped ${this.repo.attempts(id)} times (UNROLL_RUN_MAX_ATTEMPTS = ${max}), the last at step ${run.step}: ${why}`,
    });
  }

  private stop(a: Active, why: NonNullable<Active['stop']>): void {
    a.stop ??= why;
    Atomics.store(a.handle.control, CONTROL.CANCEL, 1);
    Atomics.notify(a.handle.control, CONTROL.ACKED); // a worker waiting for an ack looks at the flag again
    setTimeout(() => {
      if (!a.settled) a.handle.terminate();
    }, this.opts.cancelGraceMs).unref();
  }

  /** Trains a run the queue handed this process; resolves once it is settled (or stopped to resume later). */
  private train(id: string): Promise<Handled> {
    const run = this.repo.get(id);
    if (!run || FINAL_STATUSES.includes(run.status)) return Promise.resolve('settled'); // deleted or cancelled meanwhile
    if (this.closing) return Promise.resolve('requeue');
    const spec = this.repo.spec(id)!;
    const inputs = this.repo.inputs(id, spec.config)!;
    const pool = this.pool!;
    this.repo.markRunning(id);
    const resume = this.repo.checkpoint(id) ?? null;
    const from = resume?.step ?? 0;
    this.log.status(id, { event: 'status', status: 'running', step: from });
    const handle = pool.start({ runId: id, ...inputs, resume, checkpointEvery: this.opts.checkpointEvery });
    let resolve!: (h: Handled) => void;
    const done = new Promise<Handled>((r) => {
      resolve = r;
    });
    const a: Active = { handle, step: from, stop: null, settled: false, done, resolve };
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
    return done;
  }

  private onMessage(id: string, a: Active, m: WorkerMessage): void {
    if (a.settled) return;
    if (m.type === 'events') {
      this.log.steps(id, m.events);
      const last = m.events.findLast((e) => e.kind === 'step');
      if (last) a.step = last.step + 1;
      this.ack(a);
    } else if (m.type === 'checkpoint') {
      this.repo.saveCheckpoint(id, m.checkpoint);
      this.ack(a);
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

  private ack(a: Active): void {
    Atomics.add(a.handle.control, CONTROL.ACKED, 1);
    Atomics.notify(a.handle.control, CONTROL.ACKED);
  }

  private settle(id: string, a: Active, o: Outcome): void {
    if (a.settled) return;
    a.settled = true;
    a.handle.port.close();
    this.active.delete(id);
    try {
      if (o.status === 'queued') {
        const from = this.repo.checkpoint(id)?.step ?? 0;
        this.repo.requeue(id, true);
        this.log.pause(id, {
          event: 'status',
          status: 'queued',
          step: from,
          reason: `${o.reason}; it resumes from step ${from}`,
        });
      } else this.log.finish(id, o);
    } catch (err) {
      // the row stays `running`; the next start records it failed, as after a crash
      this.logger?.error({ err, runId: id }, 'recording the end of a run failed');
    }
    a.resolve(o.status === 'queued' ? 'requeue' : 'settled');
  }
}
