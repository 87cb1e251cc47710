// RunManager: creates runs and queues them (the RunQueue seam: in memory, or BullMQ), trains the runs its
// queue hands it in the run pool (when this process trains), records their events in the store in one
// transaction per worker batch and fans them out once committed (the RunEvents seam; a worker's next batch
// waits for that ack), checkpoints them, stores the trained weights as a model, and settles every run
// exactly once. Cancels reach the process that trains the run (RunCancels).
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import type { ElmanConfig, Params } from '../core/model.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { RunsRepo, StoredCheckpoint, StoredEvent } from '../db/runs.repo.js';
import { AppError } from '../errors.js';
import type { RunHistory } from '../schemas/history.js';
import { type CreateRunBody, FINAL_STATUSES, type Run, type RunStatus } from '../schemas/runs.js';
import type { RunCancels } from './cancels.js';
import type { ExportFormat } from './history/export.js';
import type { HistoryRequest, HistoryService } from './history/service.js';
import type { RunEvents, RunListener } from './hub.js';
import { type Outcome, RunLog } from './log.js';
import { CONTROL, type RunHandle, type RunPool, type WorkerMessage } from './protocol.js';
import type { Handled, RunQueue } from './queue.js';
import { type RunLimits, resolveRun } from './spec.js';

/** Events deleted per event-loop turn when a run is deleted (~a few ms of SQLite work). */
export const DELETE_SLICE = 2000;
/** Free pages given back to the file system per turn after a delete. */
const RECLAIM_SLICE = 1000;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** How long after its worker returned a run may wait for the worker's last message. */
const RESULT_GRACE_MS = 2000;
/** A cancel for a run this process does not train is asked again this often until the run is final. */
const CANCEL_RETRY_MS = 250;
/** With a shared queue, a run the database could not start or record is handed out again after this pause. */
const DATABASE_RETRY_MS = 1000;

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
  /** The statuses a run the queue hands this process may be in: `running` too when the queue hands on a dead worker's run. */
  claimFrom: readonly RunStatus[];
  limits: RunLimits;
}

export interface ModelAccess {
  get(id: string): Promise<{ config: ElmanConfig; params: Params }>;
  store(config: ElmanConfig, params: Params, source: string): Promise<string>;
}

interface Active {
  handle: RunHandle;
  step: number;
  /** Bytes of the run's step and hidden frames so far: a resumed run starts from its checkpoint's count. */
  logBytes: number;
  /** Set when someone asked the run to stop: what to record when it does (`queued`: resume it later). */
  stop: { status: 'cancelled' | 'failed' | 'queued'; reason: string } | null;
  settled: boolean;
  /** The worker's result is being recorded (its model stored): the backstop leaves it be. */
  resulting: boolean;
  done: Promise<Handled>;
  resolve: (h: Handled) => void;
}

export class RunManager {
  private readonly log: RunLog;
  private readonly active = new Map<string, Active>();
  /** Runs whose log is being deleted: already gone to readers. */
  private readonly deleting = new Set<string>();
  /** Creates between their admission and their row: they count against UNROLL_RUNS_MAX_QUEUED already. */
  private admitting = 0;
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
    /** A run's downsampled history, its snapshots and its export; the rollups it reads are kept by the log. */
    private readonly histories: HistoryService,
    private readonly logger?: FastifyBaseLogger,
  ) {
    this.log = new RunLog(repo, runEvents, histories.writer);
    cancels.onRequest((id) => {
      const a = this.active.get(id);
      if (a) this.stop(a, { status: 'cancelled', reason: 'cancelled by a client' });
    });
  }

  /** Starts consuming the queue, when this process trains. */
  start(): void {
    if (this.pool)
      this.queue.process(
        (id) => this.train(id),
        (id, reason) => void this.gaveUp(id, reason).catch(() => {}),
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
   * In one process, after a restart: a run left `running` died with the old process. It queues again,
   * first, to resume from its last checkpoint, unless that was its UNROLL_RUN_MAX_ATTEMPTS-th death (failed,
   * with the reason). Returns the runs to queue: those, then the queued ones.
   */
  async recover(): Promise<string[]> {
    const resumed: string[] = [];
    const max = this.opts.maxAttempts;
    for (const id of await this.repo.idsWithStatus('running')) {
      const step = (await this.repo.get(id))?.step ?? 0;
      const attempts = await this.repo.attempts(id);
      if (attempts >= max) {
        await this.log.finish(id, {
          status: 'failed',
          step,
          reason: `the server stopped while this run was training, ${attempts} times (UNROLL_RUN_MAX_ATTEMPTS = ${max}), the last at step ${step}`,
        });
        continue;
      }
      const from = await this.repo.checkpointStep(id);
      await this.repo.requeue(id, false);
      await this.log.status(id, {
        event: 'status',
        status: 'queued',
        step: from,
        reason: `the server stopped while this run was training (at step ${step}); it resumes from step ${from} (attempt ${attempts + 1} of ${max})`,
      });
      this.logger?.info({ runId: id, step, from, attempt: attempts + 1 }, 'resuming a run from its checkpoint');
      resumed.push(id);
    }
    const queued = await this.repo.idsWithStatus('queued');
    return [...resumed, ...queued.filter((id) => !resumed.includes(id))];
  }

  async create(body: CreateRunBody): Promise<{ id: string; status: 'queued' }> {
    if (this.closing)
      throw new AppError('overloaded', 'the server is shutting down', undefined, { 'retry-after': '5' });
    // the runs that would still wait after every free thread took one
    const waiting = (await this.queue.waiting()) + this.admitting;
    if (waiting >= this.opts.maxQueued)
      throw new AppError(
        'overloaded',
        `${Math.max(waiting, 0)} runs are queued already (UNROLL_RUNS_MAX_QUEUED = ${this.opts.maxQueued})`,
        undefined,
        { 'retry-after': '30' },
      );
    this.admitting++;
    const id = randomUUID();
    try {
      const stored = body.modelId ? await this.models.get(body.modelId) : undefined;
      const r = resolveRun(body, () => stored!, this.opts.limits);
      const task = r.spec.source.kind === 'task' ? r.spec.source.name : null;
      await this.repo.insert({ id, name: body.name ?? null, task, ...r });
      await this.log.status(id, { event: 'status', status: 'queued', step: 0 });
    } finally {
      this.admitting--;
    }
    await this.queue.add(id);
    return { id, status: 'queued' };
  }

  async get(id: string): Promise<Run> {
    const run = this.deleting.has(id) ? undefined : await this.repo.get(id);
    if (!run) throw new AppError('not-found', `no run with id "${id}"`);
    return run;
  }

  list(limit: number, offset: number, status?: RunStatus): Promise<{ runs: Run[]; total: number }> {
    return this.repo.list(limit, offset, status);
  }

  /** Runs this process trains now. */
  running(): number {
    return this.active.size;
  }

  /** Runs waiting for a thread (in Redis: jobs waiting for any worker); below 0 while threads are free. */
  waiting(): Promise<number> {
    return this.queue.waiting();
  }

  async isFinal(id: string): Promise<boolean> {
    const run = await this.repo.get(id);
    return !run || FINAL_STATUSES.includes(run.status);
  }

  events(id: string, afterSeq: number, sinceStep: number, limit: number): Promise<StoredEvent[]> {
    return this.repo.events(id, afterSeq, sinceStep, limit);
  }

  /** GET /v1/runs/:id/history: the series downsampled, single steps, snapshots. */
  async history(id: string, q: HistoryRequest): Promise<RunHistory> {
    await this.get(id);
    return this.histories.history(id, (await this.repo.spec(id))!, q);
  }

  /** GET /v1/runs/:id/export: every step, streamed. */
  async export(id: string, format: ExportFormat): Promise<Readable> {
    await this.get(id);
    return this.histories.export(id, format);
  }

  /**
   * Stops a run; resolves once it is settled (wherever it trains), so the answer shows `cancelled` and its
   * worker is free. A queued run leaves the queue; a running one is asked to stop by the process training it.
   */
  async cancel(id: string): Promise<Run> {
    const run = await this.get(id);
    if (run.status === 'cancelled') return run;
    if (FINAL_STATUSES.includes(run.status)) throw new AppError('conflict', `the run has ${run.status} already`);
    if (await this.queue.remove(id)) {
      await this.log.finish(id, { status: 'cancelled', step: run.step, reason: 'cancelled before it started' });
      return this.get(id);
    }
    const a = this.active.get(id);
    if (a) {
      this.stop(a, { status: 'cancelled', reason: 'cancelled by a client' });
      await a.done;
      return this.get(id);
    }
    // starting here, or trained by another process: ask until it is final. The run's end reaches its
    // followers the moment it is committed (fanned out from the process that trained it), so a follower
    // of our own wakes the wait then, instead of at the next poll
    let wake = () => {};
    let ended = false;
    const detach = await this.runEvents
      .follow(id, {
        onEvents() {},
        onEnd() {
          ended = true;
          wake();
        },
      })
      .catch(() => () => {});
    try {
      const deadline = Date.now() + this.opts.cancelGraceMs + RESULT_GRACE_MS;
      while (!(await this.isFinal(id)) && Date.now() < deadline) {
        await this.cancels.request(id);
        const now = this.active.get(id);
        if (now) {
          await now.done;
          continue;
        }
        // woken at once by an end heard meanwhile, once (an end whose commit failed leaves it unsettled)
        await new Promise<void>((r) => {
          if (ended) r();
          wake = r;
          setTimeout(r, CANCEL_RETRY_MS);
        });
        ended = false;
      }
    } finally {
      detach();
    }
    const now = await this.get(id);
    if (now.status !== 'cancelled' && FINAL_STATUSES.includes(now.status))
      throw new AppError('conflict', `the run has ${now.status} already`);
    return now;
  }

  /**
   * Deletes a finished run: its event log a slice at a time, yielding the event loop between slices (a
   * long log is hundreds of thousands of rows), then the run, then the freed pages go back to the disk.
   */
  async delete(id: string): Promise<void> {
    const run = await this.get(id);
    if (!FINAL_STATUSES.includes(run.status))
      throw new AppError('conflict', `the run is ${run.status}: cancel it before deleting it`);
    this.deleting.add(id);
    try {
      while ((await this.repo.deleteEvents(id, DELETE_SLICE)) > 0) await turn();
      await this.repo.delete(id);
      while ((await this.repo.reclaim(RECLAIM_SLICE)) > 0 && !this.closing) await turn();
    } finally {
      this.deleting.delete(id);
    }
  }

  /**
   * Graceful shutdown: running runs stop and queue again, to resume from their last checkpoint at the next
   * start or on another worker (not counted as an attempt); queued ones stay queued.
   */
  async close(): Promise<void> {
    this.closing = true;
    const running = [...this.active.values()];
    for (const a of running)
      this.stop(a, { status: 'queued', reason: 'the server shut down while this run was training' });
    await Promise.all(running.map((a) => a.done));
    await this.queue.close();
    await Promise.all([...this.active.values()].map((a) => a.done));
    await this.pool?.close();
    await this.cancels.close();
    await this.runEvents.close();
  }

  /** The queue gave up on a run whose process died too often: failed, with the reason, unless it is final. */
  private async gaveUp(id: string, why: string): Promise<void> {
    const run = await this.repo.get(id);
    if (!run || FINAL_STATUSES.includes(run.status)) return;
    const attempts = await this.repo.attempts(id);
    await this.log.finish(id, {
      status: 'failed',
      step: run.step,
      reason: `the process training this run stopped ${attempts} times (UNROLL_RUN_MAX_ATTEMPTS = ${this.opts.maxAttempts}), the last at step ${run.step}: ${why}`,
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
  private async train(id: string): Promise<Handled> {
    // handed again while it trains here (BullMQ took a slow lock renewal for a death): one training, not two
    const training = this.active.get(id);
    if (training) return training.done;
    if (this.closing) return 'requeue';
    try {
      const spec = await this.repo.spec(id);
      const inputs = spec && (await this.repo.inputs(id, spec.config));
      // deleted or cancelled while queued, or (several processes on one database) started elsewhere
      if (!inputs || !(await this.repo.claim(id, this.opts.claimFrom))) return 'settled';
      const resume = (await this.repo.checkpoint(id)) ?? null;
      const from = resume?.step ?? 0;
      // the log cap counts the whole log, not this attempt's: a checkpoint says how much there was at it
      // (one from before migration 008 does not: the log up to it is summed, a slice per turn)
      const logBytes = resume ? (resume.logBytes ?? (await this.repo.logBytes(id, from, DELETE_SLICE, turn))) : 0;
      await this.log.status(id, { event: 'status', status: 'running', step: from });
      if (this.closing) {
        await this.repo.requeue(id, true);
        await this.log.pause(id, {
          event: 'status',
          status: 'queued',
          step: from,
          reason: 'the server shut down as this run started',
        });
        return 'requeue';
      }
      return await this.run(id, inputs, resume, logBytes);
    } catch (err) {
      // the database is away (shared queue): the job goes back to the queue, to start once it answers
      if (this.runEvents.shared && isDatabaseUnavailable(err)) {
        this.logger?.warn({ err, runId: id }, 'the database did not answer as a run started: it is queued again');
        await new Promise((r) => setTimeout(r, DATABASE_RETRY_MS));
        return 'requeue';
      }
      // its inputs could not be read or its start recorded: the run fails, the process goes on
      this.logger?.error({ err, runId: id }, 'starting a run failed');
      await this.log
        .finish(id, { status: 'failed', step: 0, reason: 'the server could not start this run' })
        .catch(() => {});
      return 'settled';
    }
  }

  private run(
    id: string,
    inputs: NonNullable<Awaited<ReturnType<RunsRepo['inputs']>>>,
    resume: StoredCheckpoint | null,
    logBytes: number,
  ): Promise<Handled> {
    const handle = this.pool!.start({ runId: id, ...inputs, resume, checkpointEvery: this.opts.checkpointEvery });
    let resolve!: (h: Handled) => void;
    const done = new Promise<Handled>((r) => {
      resolve = r;
    });
    const a: Active = {
      handle,
      step: resume?.step ?? 0,
      logBytes,
      stop: null,
      settled: false,
      resulting: false,
      done,
      resolve,
    };
    this.active.set(id, a);
    handle.port.on('message', (m: WorkerMessage) => {
      this.onMessage(id, a, m).catch((err) => {
        // a failure to record (the database, say) fails this run, never the process
        this.logger?.error({ err, runId: id }, 'recording a run failed');
        // with a shared queue a run the database stopped answering for is handed out again and resumes from
        // its checkpoint once the database is back (no process restart needed); in one process it fails
        const pause = this.runEvents.shared && isDatabaseUnavailable(err);
        const why = pause
          ? { status: 'queued' as const, reason: 'the database did not answer' }
          : { status: 'failed' as const, reason: 'the server could not record this run' };
        if (a.resulting) this.settle(id, a, { ...why, step: a.step });
        else this.stop(a, why);
      });
    });
    handle.finished.then(
      // a worker posts its last message before it returns; this is only a backstop should it never come
      () =>
        setTimeout(() => {
          if (!a.resulting)
            this.settle(id, a, { status: 'failed', step: a.step, reason: 'the run worker ended without a result' });
        }, RESULT_GRACE_MS).unref(),
      (err) => {
        if (!a.stop) this.logger?.error({ err, runId: id }, 'run worker died');
        const reason = a.stop?.reason ?? `the run worker died: ${err instanceof Error ? err.message : String(err)}`;
        this.settle(id, a, { status: a.stop?.status ?? 'failed', step: a.step, reason });
      },
    );
    return done;
  }

  private ack(a: Active): void {
    Atomics.add(a.handle.control, CONTROL.ACKED, 1);
    Atomics.notify(a.handle.control, CONTROL.ACKED);
  }

  private async onMessage(id: string, a: Active, m: WorkerMessage): Promise<void> {
    if (a.settled) return;
    if (m.type === 'events') {
      const bytes = m.events.reduce((n, e) => n + e.text.length, 0);
      if (a.logBytes + bytes > this.opts.limits.maxLogBytes) {
        // the admission estimate is an upper bound, so this is a backstop: the log keeps what fits
        this.stop(a, {
          status: 'failed',
          reason: `its event log reached UNROLL_RUN_MAX_LOG_BYTES = ${this.opts.limits.maxLogBytes} bytes`,
        });
        return;
      }
      a.logBytes += bytes;
      const last = m.events.findLast((e) => e.kind === 'step');
      if (last) a.step = last.step + 1;
      // acknowledged once committed: a worker runs at most its window ahead of the log
      await this.log.steps(id, m.events);
      this.ack(a);
    } else if (m.type === 'checkpoint') {
      // the bytes of the events it covers, counted as they came (later ones may come while it is saved)
      const logBytes = a.logBytes;
      // after the events it covers (one port, in order; the log commits in order)
      await this.log.flushed(id);
      await this.repo.saveCheckpoint(id, { ...m.checkpoint, logBytes });
      this.ack(a);
    } else if (m.type === 'failed') {
      this.settle(id, a, { status: 'failed', step: m.step, reason: m.reason });
    } else if (m.status === 'cancelled') {
      const stop = a.stop ?? { status: 'cancelled', reason: 'cancelled' };
      this.settle(id, a, { status: stop.status, step: m.step, reason: `${stop.reason} (at step ${m.step})` });
    } else {
      a.resulting = true;
      const config = (await this.repo.spec(id))!.config;
      const modelId = await this.models.store(config, m.params, `run:${id}`);
      this.settle(id, a, { status: 'succeeded', step: m.step, modelId, evaluation: m.evaluation });
    }
  }

  private settle(id: string, a: Active, o: Outcome): void {
    if (a.settled) return;
    a.settled = true;
    a.handle.port.close();
    this.active.delete(id);
    const requeue = o.status === 'queued';
    const record = requeue
      ? (async () => {
          const from = await this.repo.checkpointStep(id);
          await this.repo.requeue(id, true);
          await this.log.pause(id, {
            event: 'status',
            status: 'queued',
            step: from,
            reason: `${o.reason}; it resumes from step ${from}`,
          });
        })()
      : this.log.finish(id, o);
    record
      .catch((err) => {
        // the row stays `running`; it is resumed as after a crash
        this.logger?.error({ err, runId: id }, 'recording the end of a run failed');
      })
      .finally(() => a.resolve(requeue ? 'requeue' : 'settled'));
  }
}
