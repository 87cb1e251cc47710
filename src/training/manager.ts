// RunManager: creates runs, keeps the queue (persisted as status `queued`), starts up to `concurrency` runs
// in the run pool, records their events in the store in one transaction per worker batch and fans them out
// once committed (a worker's next batch waits for that ack), stores the trained weights as a model, and
// settles every run exactly once.
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { ElmanConfig, Params } from '../core/model.js';
import type { RunsRepo, StoredEvent } from '../db/runs.repo.js';
import { AppError } from '../errors.js';
import { type CreateRunBody, FINAL_STATUSES, type Run, type RunStatus } from '../schemas/runs.js';
import type { RunHub } from './hub.js';
import { type Outcome, RunLog } from './log.js';
import { CONTROL, type RunHandle, type RunPool, type WorkerMessage } from './protocol.js';
import { type RunLimits, resolveRun } from './spec.js';

/** Events deleted per event-loop turn when a run is deleted (~a few ms of SQLite work). */
export const DELETE_SLICE = 2000;
/** Free pages given back to the file system per turn after a delete. */
const RECLAIM_SLICE = 1000;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

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
  get(id: string): Promise<{ config: ElmanConfig; params: Params }>;
  store(config: ElmanConfig, params: Params, source: string): Promise<string>;
}

interface Active {
  handle: RunHandle;
  step: number;
  /** Bytes of event frames recorded for this run by this process. */
  logBytes: number;
  /** Set when someone asked the run to stop: what to record when it does. */
  stop: { status: 'cancelled' | 'failed'; reason: string } | null;
  settled: boolean;
  /** The worker's result is being recorded (its model stored): the backstop leaves it be. */
  resulting: boolean;
  done: Promise<void>;
  resolve: () => void;
}

export class RunManager {
  private readonly log: RunLog;
  private readonly queue: string[] = [];
  private readonly active = new Map<string, Active>();
  /** Runs whose log is being deleted: already gone to readers. */
  private readonly deleting = new Set<string>();
  /** Runs taken off the queue whose inputs are being read: they hold a thread already. */
  private readonly starting = new Map<string, Promise<void>>();
  /** Creates between their admission and their row: they count against UNROLL_RUNS_MAX_QUEUED already. */
  private admitting = 0;
  private closing = false;

  constructor(
    private readonly repo: RunsRepo,
    private readonly models: ModelAccess,
    private readonly pool: RunPool,
    private readonly opts: RunManagerOptions,
    private readonly logger?: FastifyBaseLogger,
  ) {
    this.log = new RunLog(repo);
  }

  /** Who follows which run (the live half of GET /v1/runs/:id/events). */
  get hub(): RunHub {
    return this.log.hub;
  }

  /** After a restart: a run left `running` died with the old process (failed, with the reason); queued runs queue again. */
  async recover(): Promise<void> {
    for (const id of await this.repo.idsWithStatus('running')) {
      const step = (await this.repo.get(id))?.step ?? 0;
      await this.log.finish(id, {
        status: 'failed',
        step,
        reason: `the server stopped while this run was training (at step ${step}); runs are not resumed`,
      });
    }
    this.queue.push(...(await this.repo.idsWithStatus('queued')));
    this.pump();
  }

  async create(body: CreateRunBody): Promise<{ id: string; status: 'queued' }> {
    if (this.closing)
      throw new AppError('overloaded', 'the server is shutting down', undefined, { 'retry-after': '5' });
    // the runs that would still wait after every free thread took one
    const waiting = this.queue.length + this.admitting + this.active.size + this.starting.size - this.opts.concurrency;
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
    this.queue.push(id);
    // after the 202 is on its way: the answer says queued, and is
    setImmediate(() => this.pump());
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

  counts(): { queued: number; running: number } {
    return { queued: this.queue.length, running: this.active.size + this.starting.size };
  }

  async isFinal(id: string): Promise<boolean> {
    const run = await this.repo.get(id);
    return !run || FINAL_STATUSES.includes(run.status);
  }

  events(id: string, afterSeq: number, sinceStep: number, limit: number): Promise<StoredEvent[]> {
    return this.repo.events(id, afterSeq, sinceStep, limit);
  }

  /** Stops a run; resolves once it is settled, so the answer shows `cancelled` and its worker is free. */
  async cancel(id: string): Promise<Run> {
    const starting = this.starting.get(id);
    if (starting) {
      await starting;
      return this.cancel(id);
    }
    const run = await this.get(id);
    if (run.status === 'cancelled') return run;
    // where the run is in this process now (the read above may be out of date by the time it returns)
    const queued = this.queue.indexOf(id);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      await this.log.finish(id, { status: 'cancelled', step: 0, reason: 'cancelled before it started' });
      return this.get(id);
    }
    const a = this.active.get(id);
    if (!a) {
      const now = await this.get(id);
      if (now.status === 'cancelled') return now;
      throw new AppError('conflict', `the run has ${now.status} already`);
    }
    this.stop(a, { status: 'cancelled', reason: 'cancelled by a client' });
    await a.done;
    return this.get(id);
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

  /** Graceful shutdown: running runs stop and are recorded failed (queued ones stay queued for the next start). */
  async close(): Promise<void> {
    this.closing = true;
    this.queue.length = 0;
    const running = [...this.active.values()];
    for (const a of running)
      this.stop(a, { status: 'failed', reason: 'the server shut down while this run was training' });
    await Promise.all(running.map((a) => a.done));
    await Promise.all(this.starting.values());
    await Promise.all([...this.active.values()].map((a) => a.done));
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
    while (!this.closing && this.active.size + this.starting.size < this.opts.concurrency && this.queue.length) {
      const id = this.queue.shift()!;
      const started = this.start(id)
        .catch(async (err) => {
          // its inputs could not be read or its start recorded: the run fails, the process goes on
          this.logger?.error({ err, runId: id }, 'starting a run failed');
          await this.log
            .finish(id, { status: 'failed', step: 0, reason: 'the server could not start this run' })
            .catch(() => {});
        })
        .finally(() => {
          this.starting.delete(id);
          this.pump();
        });
      this.starting.set(id, started);
    }
  }

  private async start(id: string): Promise<void> {
    const spec = await this.repo.spec(id);
    const inputs = spec && (await this.repo.inputs(id, spec.config));
    // deleted while queued, or (several processes on one database) started elsewhere
    if (!inputs || !(await this.repo.claim(id))) return;
    await this.log.status(id, { event: 'status', status: 'running', step: 0 });
    if (this.closing) {
      await this.log.finish(id, { status: 'failed', step: 0, reason: 'the server shut down as this run started' });
      return;
    }
    const handle = this.pool.start({ runId: id, ...inputs });
    let resolve!: () => void;
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    const a: Active = { handle, step: 0, logBytes: 0, stop: null, settled: false, resulting: false, done, resolve };
    this.active.set(id, a);
    handle.port.on('message', (m: WorkerMessage) => {
      this.onMessage(id, a, m).catch((err) => {
        // a failure to record (the database, say) fails this run, never the process
        this.logger?.error({ err, runId: id }, 'recording a run failed');
        const reason = 'the server could not record this run';
        if (a.resulting) this.settle(id, a, { status: 'failed', step: a.step, reason });
        else this.stop(a, { status: 'failed', reason });
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
      Atomics.add(a.handle.control, CONTROL.ACKED, 1);
      Atomics.notify(a.handle.control, CONTROL.ACKED);
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
    this.log
      .finish(id, o)
      .catch((err) => {
        // the row stays `running`; the next start records it failed, as after a crash
        this.logger?.error({ err, runId: id }, 'recording the end of a run failed');
      })
      .finally(() => {
        a.resolve();
        this.pump();
      });
  }
}
