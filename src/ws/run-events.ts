// GET /v1/runs/:id/events on one socket: replay the log after `since` (lossless, paced by the client),
// then follow live. The socket subscribes to the run's events before it reads the log, and events that
// arrive during the replay wait, so there is no gap even when the run trains in another process;
// sequence numbers rule out duplicates. Live
// `step` and `hidden` frames are conflated above the send budget; `status` frames never are.
import type { WebSocket } from 'ws';
import type { StoredEvent } from '../db/runs.repo.js';
import type { RunManager } from '../training/manager.js';
import { FrameSender } from './sender.js';

/** Events read from SQLite per replay page. */
export const REPLAY_PAGE = 256;
/** Live events held while a replay runs; beyond, the replay reads them from the log instead. */
const EARLY_MAX = 4096;
/** WebSocket close code and reason when the run has ended and its last event was sent. */
export const RUN_ENDED = { code: 1000, reason: 'the run has ended' } as const;
const CONFLATED = new Set(['step', 'hidden']);

export async function followRun(
  ws: WebSocket,
  runs: RunManager,
  runId: string,
  since: number,
  budget: number,
): Promise<void> {
  const sender = new FrameSender(ws, budget);
  let lastSeq = 0;
  let detach: (() => void) | null = null;
  let closed = false;
  ws.once('close', () => {
    closed = true;
    detach?.();
  });
  // live events that arrive while the log is replayed wait here, then go out past what the replay sent;
  // beyond EARLY_MAX they are dropped and the replay reads on (they are in the log: published after commit)
  let early: StoredEvent[] | null = [];
  let ended = false;
  const deliver = (events: readonly StoredEvent[]) => {
    for (const e of events) {
      if (e.seq <= lastSeq || e.step <= since) continue;
      lastSeq = e.seq;
      if (CONFLATED.has(e.kind)) sender.offer(e.kind, e.frame, e.bytes);
      else sender.send(e.frame, e.bytes);
    }
  };
  // subscribed before the first read of the log: an event committed after that read reaches the listener
  const stop = await runs.follow(runId, {
    onEvents(events) {
      if (!early) return deliver(events);
      early.push(...events);
      if (early.length > EARLY_MAX) early = [];
    },
    onEnd() {
      if (early) ended = true;
      else sender.close(RUN_ENDED.code, RUN_ENDED.reason);
    },
  });
  detach = stop;
  if (closed) return stop();

  for (;;) {
    if (closed) return;
    const page = runs.events(runId, lastSeq, since, REPLAY_PAGE);
    // empty: everything committed so far (anything dropped from `early` too) has been sent
    if (page.length === 0) break;
    for (const e of page) sender.send(e.frame);
    lastSeq = page[page.length - 1].seq;
    await sender.drained();
  }
  // caught up, in the tick of the empty read: what arrived meanwhile, then live
  const waiting = early;
  early = null;
  deliver(waiting);
  if (ended || runs.isFinal(runId)) {
    stop();
    sender.close(RUN_ENDED.code, RUN_ENDED.reason);
  }
}
