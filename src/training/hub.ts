// The run event fan-out seam, and its in-process implementation: who follows which run (the live half of
// GET /v1/runs/:id/events). Here events reach listeners in the same tick as they are committed to the log;
// events-redis.ts carries them between processes. Either way a follower subscribes before it replays the
// log, and drops what it has replayed by sequence number, so replay-then-follow has no gap or duplicate.
import type { StoredEvent } from '../db/runs.repo.js';

export interface RunListener {
  onEvents(events: readonly StoredEvent[]): void;
  /** The run reached a final status; its last event has been delivered. */
  onEnd(): void;
}

export interface RunEvents {
  /** True when the followers may be in other processes (a run paused here goes on elsewhere). */
  readonly shared: boolean;
  /** Events just committed to the run's log, in log order. */
  publish(runId: string, events: readonly StoredEvent[]): void;
  /** The run is final: every follower, wherever it is, is let go after the events published before. */
  end(runId: string): void;
  /** Resolves once every event published from then on reaches `l`; the function stops the delivery. */
  follow(runId: string, l: RunListener): Promise<() => void>;
  /** Followers of a run in this process. */
  count(runId: string): number;
  close(): Promise<void>;
}

export class RunHub implements RunEvents {
  readonly shared = false;
  private readonly listeners = new Map<string, Set<RunListener>>();

  add(runId: string, l: RunListener): () => void {
    let set = this.listeners.get(runId);
    if (!set) {
      set = new Set();
      this.listeners.set(runId, set);
    }
    set.add(l);
    return () => {
      set.delete(l);
      if (set.size === 0 && this.listeners.get(runId) === set) this.listeners.delete(runId);
    };
  }

  async follow(runId: string, l: RunListener): Promise<() => void> {
    return this.add(runId, l);
  }

  count(runId: string): number {
    return this.listeners.get(runId)?.size ?? 0;
  }

  publish(runId: string, events: readonly StoredEvent[]): void {
    const set = this.listeners.get(runId);
    if (!set) return;
    // encoded once for every follower, instead of once per socket
    const encoded = set.size > 1 ? events.map((e) => ({ ...e, bytes: Buffer.from(e.frame) })) : events;
    for (const l of set) l.onEvents(encoded);
  }

  end(runId: string): void {
    const set = this.listeners.get(runId);
    if (!set) return;
    this.listeners.delete(runId);
    for (const l of set) l.onEnd();
  }

  async close(): Promise<void> {}
}
