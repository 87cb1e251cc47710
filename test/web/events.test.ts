// The run's event socket on the page: resume with ?since= the last step seen after a drop, backoff between
// attempts, no duplicates, and no reconnect once the run has ended or the viewer left.
import { describe, expect, it } from 'vitest';
import { BACKOFF, type Frame, RunEvents, type SocketState } from '../../public/js/events.js';

class FakeSocket {
  static all: FakeSocket[] = [];
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  closedWith: number | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  open() {
    this.onopen?.();
  }
  send(frame: object | string) {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }
  drop(code = 1006) {
    this.onclose?.({ code, reason: '' });
  }
  close(code?: number) {
    this.closedWith = code ?? 1005;
  }
}

function setup() {
  FakeSocket.all = [];
  const frames: Frame[] = [];
  const states: { state: SocketState; since: number; delayMs?: number }[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const events = new RunEvents({
    url: (since) => `ws://x/v1/runs/r/events${since >= 0 ? `?since=${since}` : ''}`,
    onFrame: (f) => frames.push(f),
    onState: (state, d) => states.push({ state, since: d.since, delayMs: d.delayMs }),
    WebSocket: FakeSocket,
    setTimeout: (fn, ms) => timers.push({ fn, ms }),
    clearTimeout: () => {},
    random: () => 0,
  });
  const socket = () => FakeSocket.all[FakeSocket.all.length - 1];
  const step = (s: number) => ({ event: 'step', step: s, loss: 1, accuracy: 0.5, gradNorm: {}, dhNorm: [1] });
  return { events, frames, states, timers, socket, step };
}

describe('RunEvents', () => {
  it('connects without since, then resumes after a drop from the last step it saw', () => {
    const { events, frames, timers, socket, step } = setup();
    events.start();
    expect(socket().url).toBe('ws://x/v1/runs/r/events');
    socket().open();
    for (let s = 0; s < 5; s++) socket().send(step(s));
    socket().drop();
    expect(events.state).toBe('reconnecting');
    expect(timers).toHaveLength(1);
    timers[0].fn();
    expect(socket().url).toBe('ws://x/v1/runs/r/events?since=4');
    expect(events.connects).toBe(2);
    socket().open();
    // the server may resend what the client had: it is dropped, the rest goes through
    socket().send(step(4));
    socket().send(step(5));
    expect(frames.map((f) => f.step)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(events.duplicates).toBe(1);
  });

  it('backs off exponentially up to a cap, and starts over after a successful open', () => {
    const { events, timers, socket } = setup();
    events.start();
    for (let k = 0; k < 8; k++) {
      socket().drop();
      timers[timers.length - 1].fn();
    }
    const delays = timers.map((t) => t.ms);
    expect(delays.slice(0, 3)).toEqual([BACKOFF.firstMs, 2 * BACKOFF.firstMs, 4 * BACKOFF.firstMs]);
    expect(Math.max(...delays)).toBe(BACKOFF.maxMs);
    socket().open();
    socket().drop();
    expect(timers[timers.length - 1].ms).toBe(BACKOFF.firstMs);
  });

  it('stops for good on a final status and the normal close that follows', () => {
    const { events, states, timers, socket, step } = setup();
    events.start();
    socket().open();
    socket().send(step(0));
    socket().send({ event: 'status', status: 'succeeded', step: 0 });
    socket().drop(1000);
    expect(events.state).toBe('ended');
    expect(timers).toHaveLength(0);
    expect(states.map((s) => s.state)).toEqual(['connecting', 'live', 'ended']);
  });

  it('treats the server’s normal close as the end even when the status frame was before ?since=', () => {
    const { events, timers, socket } = setup();
    events.start();
    socket().drop(1000);
    expect(events.state).toBe('ended');
    expect(timers).toHaveLength(0);
  });

  it('counts the frames the server conflated, and keeps hidden snapshots in order', () => {
    const { events, frames, socket } = setup();
    events.start();
    socket().send({ event: 'hidden', step: 10, h: [[0]], skipped: 3 });
    socket().send({ event: 'hidden', step: 10, h: [[0]] });
    socket().send({ event: 'hidden', step: 20, h: [[0]] });
    socket().send('not json');
    socket().send({ event: 'step', step: 30, loss: 1, accuracy: 1, gradNorm: {}, dhNorm: [], skipped: 2 });
    expect(events.skipped).toBe(5);
    expect(events.skippedSteps).toBe(2);
    expect(frames.map((f) => f.step)).toEqual([10, 20, 30]);
  });

  it('closes the socket and cancels a pending reconnect when stopped', () => {
    const { events, timers, socket } = setup();
    events.start();
    const first = socket();
    events.stop();
    expect(first.closedWith).toBe(1000);
    expect(events.state).toBe('stopped');
    // a close arriving later changes nothing
    first.drop();
    expect(timers).toHaveLength(0);
  });
});
