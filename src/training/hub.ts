// Who follows which run: the live half of GET /v1/runs/:id/events. Events reach listeners in the same
// tick as they are committed to the log, which is what makes replay-then-follow gapless.
import type { StoredEvent } from '../db/runs.repo.js';

export interface RunListener {
  onEvents(events: readonly StoredEvent[]): void;
  /** The run reached a final status; its last event has been delivered. */
  onEnd(): void;
}

export class RunHub {
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
}
