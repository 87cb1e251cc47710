// The run queue on BullMQ (UNROLL_REDIS_URL): a run is a job whose id is the run's id; every process
// with a run pool consumes the queue. A worker that dies mid-run stops renewing its lock, and BullMQ's
// stalled-job check (every UNROLL_RUN_STALL_SECONDS) moves the job back to the queue, where a worker
// picks it up and resumes the run from its checkpoint. After UNROLL_RUN_MAX_ATTEMPTS deaths BullMQ fails
// the job (maxStalledCount = attempts − 1) and the processes hear it through QueueEvents.
import { DelayedError, type Job, Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Handled, RunQueue } from './queue.js';

export interface BullRunQueueOptions {
  url: string;
  /** Key prefix of every BullMQ key (one per deployment, or per test). */
  prefix: string;
  concurrency: number;
  maxAttempts: number;
  /** A worker that has not renewed its lock for this long is taken to be dead. */
  stallMs: number;
}

export const QUEUE_NAME = 'runs';

type Data = { runId: string };

/** BullMQ wants its blocking connections to retry forever (maxRetriesPerRequest: null). */
const connect = (url: string) => new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });

export class BullRunQueue implements RunQueue {
  private readonly queue: Queue<Data>;
  private worker: Worker<Data> | null = null;
  private events: QueueEvents | null = null;
  private readonly connections: Redis[] = [];

  constructor(private readonly opts: BullRunQueueOptions) {
    this.queue = new Queue<Data>(QUEUE_NAME, { connection: this.connection(), prefix: opts.prefix });
  }

  private connection(): Redis {
    const c = connect(this.opts.url);
    c.on('error', () => {}); // reconnects on its own; /ready reports Redis down
    this.connections.push(c);
    return c;
  }

  async add(runId: string): Promise<void> {
    await this.queue.add(
      'train',
      { runId },
      // a failed run is recorded in the database; its job need not stay
      { jobId: runId, attempts: 1, removeOnComplete: true, removeOnFail: { count: 1000 } },
    );
  }

  async remove(runId: string): Promise<boolean> {
    const job = await this.queue.getJob(runId);
    if (!job) return false;
    const state = await job.getState();
    if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return false;
    try {
      await job.remove(); // refuses a job a worker has locked meanwhile
      return true;
    } catch {
      return false;
    }
  }

  process(handle: (runId: string) => Promise<Handled>, dead: (runId: string, reason: string) => void): void {
    this.worker = new Worker<Data>(
      QUEUE_NAME,
      async (job: Job<Data>, token?: string) => {
        if ((await handle(job.data.runId)) === 'requeue') {
          // a graceful stop: back to the queue now, without counting an attempt
          await job.moveToDelayed(Date.now(), token);
          throw new DelayedError();
        }
      },
      {
        connection: this.connection(),
        prefix: this.opts.prefix,
        concurrency: this.opts.concurrency,
        lockDuration: this.opts.stallMs,
        stalledInterval: this.opts.stallMs,
        maxStalledCount: this.opts.maxAttempts - 1,
      },
    );
    this.worker.on('error', () => {}); // connection trouble: BullMQ retries
    this.events = new QueueEvents(QUEUE_NAME, { connection: this.connection(), prefix: this.opts.prefix });
    this.events.on('error', () => {});
    this.events.on('failed', ({ jobId, failedReason }) => dead(jobId, failedReason));
  }

  async waiting(): Promise<number> {
    const counts = await this.queue.getJobCounts('waiting', 'delayed', 'prioritized');
    return Object.values(counts).reduce((s, n) => s + n, 0);
  }

  /** Answers when Redis does (for /ready). */
  async ping(): Promise<boolean> {
    try {
      return (await this.connections[0].ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.events?.close();
    await this.queue.close();
    for (const c of this.connections) c.disconnect();
  }
}
