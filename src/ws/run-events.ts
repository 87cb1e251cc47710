// GET /v1/runs/:id/events on one socket: replay the log after `since` (lossless, paced by the client),
// then follow live (the run may train in another process: RunEvents). The socket subscribes to the run's
// fan-out, and the subscription is acknowledged, BEFORE its first read of the log, and the
// log commits each event before fanning it out: so an event is either in a read that starts after the
// subscription, or delivered to the subscription afterwards (or both). While replaying, live events wait in
// a buffer; once the replay reaches the first buffered event (or a read comes back empty), the buffer's
// events after the last replayed sequence number are sent and the socket follows live. (Waiting for an empty
// read alone never ends while the run commits faster than a read's round trip: the replay would chase the
// head of the log page by page.) Sequence numbers rule out duplicates. Live `step` and `hidden`
// frames are conflated above the send budget; `status` frames never are.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { StoredEvent } from '../db/runs.repo.js';
import type { RunManager } from '../training/manager.js';
import { FrameSender } from './sender.js';

/** Events read from the log per replay page. */
export const REPLAY_PAGE = 256;
/**
 * Live events held while replaying (references: the events are shared by every follower of the run in
 * this process). Beyond it the newer ones are dropped, so the replay's target (the first one held) stays
 * put: the replay reaches it, the held ones go out, and the first live event after them finds a jump in
 * sequence numbers, which is filled from the log (fillThenDeliver) as for a writer's death. Dropping the
 * older ones instead moved the target on with the run, and a replay slower than the run never reached it.
 */
const LIVE_BUFFER = 16 * REPLAY_PAGE;
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
    if (e.seq <= lastSeq) return;
    // past it even when `since` filters it out: lastSeq is where the next read of the log starts
    lastSeq = e.seq;
    if (e.step <= since) return;
    if (CONFLATED.has(e.kind)) sender.offer(e.kind, e.frame, e.bytes);
    else sender.send(e.frame, e.bytes);
  };
  // Live events can skip sequence numbers: a worker killed after a commit and before its fan-out took
  // those events with it, and the worker that resumes the run recomputes them but (idempotent writes) never
  // publishes them again. Everything before a live event is committed, so a jump past lastSeq + 1 is filled
  // from the log first; events arriving meanwhile wait behind it, in order. (Numbers a skipped write used
  // are holes that the read confirms at the cost of one query.)
  let pending: StoredEvent[] | null = null;
  const fillThenDeliver = async (first: StoredEvent[]) => {
    pending = first;
    // by index: what arrives meanwhile is pushed behind (a shift per event is quadratic on a long wait)
    for (let i = 0; i < pending.length; ) {
      const next = pending[i];
      if (next.seq > lastSeq + 1 && !closed) {
        try {
          for (;;) {
            const page = await runs.events(runId, lastSeq, since, REPLAY_PAGE);
            const missing = page.filter((e) => e.seq < next.seq);
            for (const e of missing) deliver(e);
            if (missing.length < REPLAY_PAGE) break;
          }
        } catch {
          // the log cannot be read now: go on live; a client that needs the gap reconnects with ?since=
        }
      }
      deliver(pending[i++]);
    }
    pending = null;
    if (ended) endLive();
  };
  // the run's end closes the socket once every live event before it is sent
  const endLive = () => {
    if (pending) return;
    detach();
    sender.close(RUN_ENDED.code, RUN_ENDED.reason);
  };
  const onLive = (events: readonly StoredEvent[]) => {
    if (pending) {
      pending.push(...events);
      return;
    }
    // a batch of frames in one write: a corked socket gathers them for one writev instead of a syscall each
    const socket = (ws as WebSocket & { _socket?: Socket })._socket;
    socket?.cork();
    try {
      for (let i = 0; i < events.length; i++) {
        if (events[i].seq > lastSeq + 1) {
          void fillThenDeliver(events.slice(i));
          return;
        }
        deliver(events[i]);
      }
    } finally {
      socket?.uncork();
    }
  };
  // listening for the close before the subscription settles (with Redis it takes a round trip)
  let detach = () => {};
  ws.once('close', () => {
    closed = true;
    detach();
  });
  detach = await runs.follow(runId, {
    onEvents(events) {
      if (live) onLive(events);
      else {
        for (const e of events) if (buffer.length < LIVE_BUFFER) buffer.push(e);
      }
    },
    onEnd() {
      ended = true;
      if (live) endLive();
    },
  });
  if (closed) return detach();

  try {
    // replay: pages of the log until a read comes back empty. A run that has ended committed its final row
    // and its last event together, so once the row says so, reading on until empty has everything
    let checkedFinal = false;
    for (;;) {
      if (closed) return;
      // the subscription holds everything after what was replayed: live from here
      if (buffer.length && buffer[0].seq <= lastSeq + 1) break;
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
      // what the replay has sent leaves the buffer (it is in log order)
      let sent = 0;
      while (sent < buffer.length && buffer[sent].seq <= lastSeq) sent++;
      if (sent) buffer = buffer.slice(sent);
    }
  } catch {
    // the log could not be read (the database is down): the client reconnects with ?since=
    detach();
    sender.close(RETRY_LATER.code, RETRY_LATER.reason);
    return;
  }
  if (closed) return;
  // caught up: what arrived meanwhile, in order, then every new event as it comes
  live = true;
  onLive(buffer);
  buffer = [];
  if (ended) endLive();
}

/** Close code and reason when the log cannot be read now (1013: try again later). */
export const RETRY_LATER = { code: 1013, reason: 'the run log is unavailable; reconnect with ?since=' } as const;
