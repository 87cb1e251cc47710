// The run queue seam: which process trains which run. In one process (the embedded default) it is an
// array and a counter; with UNROLL_REDIS_URL it is a BullMQ queue (queue-bullmq.ts) that every worker
// process consumes. The RunManager only adds, removes and handles runs; it never knows which it got.

/** What a handler says when it returns: the run reached a final status, or it stopped to resume later. */
export type Handled = 'settled' | 'requeue';

export interface RunQueue {
  /** Queues a run to be trained by some process (at most once at a time). */
  add(runId: string): Promise<void>;
  /** Takes a run that has not started out of the queue; false when it has started (or is not queued). */
  remove(runId: string): Promise<boolean>;
  /**
   * Consumes the queue: `handle` trains one run and resolves once it is settled, at most `concurrency` at
   * once. `dead` hears of a run whose process died too often to be resumed (the queue gave up on it).
   */
  process(handle: (runId: string) => Promise<Handled>, dead: (runId: string, reason: string) => void): void;
  /** Runs waiting for a thread (in Redis: jobs waiting for any worker); admission compares it with the cap. */
  waiting(): Promise<number>;
  /** Stops taking runs; resolves once the handlers in flight have returned. */
  close(): Promise<void>;
}

/** The embedded queue: FIFO in memory (the rows say `queued`, so a restart fills it again). */
export class LocalRunQueue implements RunQueue {
  private readonly ids: string[] = [];
  private running = 0;
  private handle: ((runId: string) => Promise<Handled>) | null = null;
  private closed = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly concurrency: number) {}

  async add(runId: string): Promise<void> {
    this.ids.push(runId);
    // after the caller's answer is on its way: the 202 says queued, and is
    setImmediate(() => this.pump());
  }

  /** Runs that resume after a restart go first. */
  addFirst(runIds: string[]): void {
    this.ids.unshift(...runIds);
  }

  async remove(runId: string): Promise<boolean> {
    const i = this.ids.indexOf(runId);
    if (i < 0) return false;
    this.ids.splice(i, 1);
    return true;
  }

  process(handle: (runId: string) => Promise<Handled>): void {
    this.handle = handle;
    this.pump();
  }

  /** Below 0 when threads are free (a run just added waits for the next tick, yet does not wait for a thread). */
  async waiting(): Promise<number> {
    return this.ids.length + this.running - this.concurrency;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.ids.length = 0;
    await Promise.all(this.inFlight);
  }

  private pump(): void {
    while (!this.closed && this.handle && this.running < this.concurrency && this.ids.length) {
      const id = this.ids.shift()!;
      this.running++;
      const p = this.handle(id)
        .catch(() => 'settled')
        .finally(() => {
          this.running--;
          this.inFlight.delete(p);
          this.pump();
        });
      this.inFlight.add(p);
    }
  }
}
