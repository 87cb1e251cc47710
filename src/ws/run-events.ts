// GET /v1/runs/:id/events on one socket: replay the log after `since` (lossless, paced by the client),
// then follow live (the run may train in another process: RunEvents). The socket subscribes to the run's
// fan-out, and the subscription is acknowledged, BEFORE its first read of the log, and the
// log commits each event before fanning it out: so an event is either in a read that starts after the
// subscription, or delivered to the subscription afterwards (or both). While replaying, live events wait in
// a small buffer; once a read comes back empty, the buffer's events after the last replayed sequence number
// are sent and the socket follows live. Sequence numbers rule out duplicates. Live `step` and `hidden`
// frames are conflated above the send budget; `status` frames never are.
import type { WebSocket } from 'ws';
import type { StoredEvent } from '../db/runs.repo.js';
import type { RunManager } from '../training/manager.js';
import { FrameSender } from './sender.js';

/** Events read from the log per replay page. */
export const REPLAY_PAGE = 256;
/**
 * Live events held while replaying. Beyond it the buffer is emptied: every event in it is committed,
 * so the replay reads it from the log anyway (the buffer only has to be whole after the last read).
 */
const LIVE_BUFFER = 4 * REPLAY_PAGE;
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
  let live = false;
  let ended = false;
  let closed = false;
  let buffer: StoredEvent[] = [];

  const deliver = (e: StoredEvent) => {
    if (e.seq <= lastSeq || e.step <= since) return;
    lastSeq = e.seq;
    if (CONFLATED.has(e.kind)) sender.offer(e.kind, e.frame, e.bytes);
    else sender.send(e.frame, e.bytes);
  };
  // listening for the close before the subscription settles (with Redis it takes a round trip)
  let detach = () => {};
  ws.once('close', () => {
    closed = true;
    detach();
  });
  detach = await runs.follow(runId, {
    onEvents(events) {
      if (live) for (const e of events) deliver(e);
      else {
        buffer.push(...events);
        if (buffer.length > LIVE_BUFFER) buffer = [];
      }
    },
    onEnd() {
      ended = true;
      if (live) sender.close(RUN_ENDED.code, RUN_ENDED.reason);
    },
  });
  if (closed) return detach();

  try {
    // replay: pages of the log until a read comes back empty. A run that has ended committed its final row
    // and its last event together, so once the row says so, reading on until empty has everything
    let checkedFinal = false;
    for (;;) {
      if (closed) return;
      const page = await runs.events(runId, lastSeq, since, REPLAY_PAGE);
      if (page.length === 0) {
        if (ended || checkedFinal) break;
        checkedFinal = true;
        if (!(await runs.isFinal(runId))) break;
        ended = true;
        continue;
      }
      for (const e of page) {
        if (closed) return;
        sender.send(e.frame);
        lastSeq = e.seq;
        // one frame past the budget at most: a page of large hidden snapshots must not all wait in memory
        if (sender.over) await sender.drained();
      }
      buffer = buffer.filter((e) => e.seq > lastSeq);
    }
  } catch {
    // the log could not be read (the database is down): the client reconnects with ?since=
    detach();
    sender.close(RETRY_LATER.code, RETRY_LATER.reason);
    return;
  }
  if (closed) return;
  // caught up: what arrived meanwhile, in order, then every new event as it comes
  for (const e of buffer) deliver(e);
  buffer = [];
  live = true;
  if (ended) {
    detach();
    sender.close(RUN_ENDED.code, RUN_ENDED.reason);
  }
}

/** Close code and reason when the log cannot be read now (1013: try again later). */
export const RETRY_LATER = { code: 1013, reason: 'the run log is unavailable; reconnect with ?since=' } as const;
