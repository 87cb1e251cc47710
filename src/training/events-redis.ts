// Run events and cancels between processes, over Redis pub/sub: a channel per run carries its committed
// events (in log order, from the one process that trains it) and its end; one channel carries cancels.
// A process subscribes to a run's channel while it has followers of it, and hands what arrives to its
// own RunHub (which conflates for slow sockets as in one process). Nothing is lost to a follower that
// joins late: it subscribes, then replays the log, then drops what it replayed by sequence number.
import type { Redis } from 'ioredis';
import type { StoredEvent } from '../db/runs.repo.js';
import type { RunCancels } from './cancels.js';
import { type RunEvents, RunHub, type RunListener } from './hub.js';

type Message = { events: Omit<StoredEvent, 'bytes'>[] } | { end: true };

export class RedisRunEvents implements RunEvents {
  readonly shared = true;
  private readonly hub = new RunHub();
  /** Subscriptions under way or held, per run. */
  private readonly subscribed = new Map<string, Promise<unknown>>();

  /** `pub` publishes; `sub` is a connection in subscriber mode, shared with RedisRunCancels. */
  constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly prefix: string,
  ) {
    sub.on('message', (channel: string, text: string) => {
      if (!channel.startsWith(this.runChannel(''))) return;
      const runId = channel.slice(this.runChannel('').length);
      const m = JSON.parse(text) as Message;
      if ('end' in m) this.hub.end(runId);
      else this.hub.publish(runId, m.events);
    });
  }

  private runChannel(runId: string): string {
    return `${this.prefix}run:${runId}`;
  }

  publish(runId: string, events: readonly StoredEvent[]): void {
    const out = events.map(({ seq, step, kind, frame }) => ({ seq, step, kind, frame }));
    // Redis down: followers catch up from the log when they reconnect; never an unhandled rejection
    this.pub.publish(this.runChannel(runId), JSON.stringify({ events: out } satisfies Message)).catch(() => {});
  }

  end(runId: string): void {
    this.pub.publish(this.runChannel(runId), JSON.stringify({ end: true } satisfies Message)).catch(() => {});
  }

  async follow(runId: string, l: RunListener): Promise<() => void> {
    const detach = this.hub.add(runId, l);
    let p = this.subscribed.get(runId);
    if (!p) {
      p = this.sub.subscribe(this.runChannel(runId));
      this.subscribed.set(runId, p);
    }
    await p; // the SUBSCRIBE is acknowledged: whatever is published from now on reaches us
    return () => {
      detach();
      if (this.hub.count(runId) === 0 && this.subscribed.get(runId) === p) {
        this.subscribed.delete(runId);
        void this.sub.unsubscribe(this.runChannel(runId)).catch(() => {});
      }
    };
  }

  count(runId: string): number {
    return this.hub.count(runId);
  }

  async close(): Promise<void> {}
}

export class RedisRunCancels implements RunCancels {
  private handler: (runId: string) => void = () => {};
  private readonly ready: Promise<unknown>;

  constructor(
    private readonly pub: Redis,
    sub: Redis,
    private readonly prefix: string,
  ) {
    this.ready = sub.subscribe(this.channel);
    sub.on('message', (channel: string, runId: string) => {
      if (channel === this.channel) this.handler(runId);
    });
  }

  private get channel(): string {
    return `${this.prefix}cancel`;
  }

  async request(runId: string): Promise<void> {
    await this.ready;
    await this.pub.publish(this.channel, runId);
  }

  onRequest(handler: (runId: string) => void): void {
    this.handler = handler;
  }

  async close(): Promise<void> {}
}
