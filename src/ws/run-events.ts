// GET /v1/runs/:id/events on one socket: replay the log after `since` (lossless, paced by the client),
// then follow live. The switch happens in the tick whose log read came back empty, and the log and the
// fan-out are written in one tick too, so there is no gap; sequence numbers rule out duplicates. Live
// `step` and `hidden` frames are conflated above the send budget; `status` frames never are.
import type { WebSocket } from 'ws';
import type { RunManager } from '../training/manager.js';
import { FrameSender } from './sender.js';

/** Events read from SQLite per replay page. */
export const REPLAY_PAGE = 256;
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
  // no send timeout: conflation bounds what a follower that stops reading holds (the budget, one slot per kind)
  const sender = new FrameSender(ws, budget);
  let lastSeq = 0;
  let detach: (() => void) | null = null;
  let closed = false;
  ws.once('close', () => {
    closed = true;
    detach?.();
  });

  for (;;) {
    if (closed) return;
    const page = runs.events(runId, lastSeq, since, REPLAY_PAGE);
    if (page.length === 0) break;
    for (const e of page) {
      if (closed) return;
      sender.send(e.frame);
      lastSeq = e.seq;
      // one frame past the budget at most: a page of large hidden snapshots must not all wait in memory
      if (sender.over) await sender.drained();
    }
  }
  // caught up: from here on, in this same tick, every new event reaches us through the hub
  if (runs.isFinal(runId)) return sender.close(RUN_ENDED.code, RUN_ENDED.reason);
  detach = runs.hub.add(runId, {
    onEvents(events) {
      for (const e of events) {
        if (e.seq <= lastSeq || e.step <= since) continue;
        lastSeq = e.seq;
        if (CONFLATED.has(e.kind)) sender.offer(e.kind, e.frame, e.bytes);
        else sender.send(e.frame, e.bytes);
      }
    },
    onEnd() {
      sender.close(RUN_ENDED.code, RUN_ENDED.reason);
    },
  });
}
