// FrameSender's rules, on a fake socket whose buffered bytes the test controls: below the budget every
// frame goes out; above it the latest frame of each conflated kind waits and says how many it replaced;
// a never-dropped frame goes out at once, after the waiting ones; drained() waits for the client.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { FrameSender } from '../../src/ws/sender.js';

class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: string[] = [];
  private readonly pending: (() => void)[] = [];
  send(data: string | Buffer, _opts: object, cb: () => void) {
    this.sent.push(data.toString());
    this.pending.push(cb);
  }
  /** The client read everything: the buffer empties and every write callback fires. */
  drain() {
    this.bufferedAmount = 0;
    for (const cb of this.pending.splice(0)) cb();
  }
}

const frame = (kind: string, step: number) => JSON.stringify({ event: kind, step });

describe('FrameSender', () => {
  it('conflates each kind above the budget, counts what it skipped, and never drops or reorders status', async () => {
    const ws = new FakeSocket();
    const s = new FrameSender(ws as unknown as WebSocket, 100);
    s.offer('step', frame('step', 0));
    expect(ws.sent).toHaveLength(1);
    ws.bufferedAmount = 500;
    for (let i = 1; i <= 5; i++) s.offer('step', frame('step', i));
    s.offer('hidden', frame('hidden', 5));
    s.offer('step', frame('step', 6));
    expect(ws.sent).toHaveLength(1);
    let drained = false;
    void s.drained().then(() => {
      drained = true;
    });
    ws.drain();
    await Promise.resolve();
    expect(drained).toBe(true);
    expect(ws.sent.slice(1).map((t) => JSON.parse(t))).toEqual([
      { event: 'hidden', step: 5 },
      { skipped: 5, event: 'step', step: 6 },
    ]);
    expect(s.skippedTotal).toBe(5);

    ws.bufferedAmount = 500;
    s.offer('step', frame('step', 7));
    s.offer('step', frame('step', 8));
    s.send(frame('status', 9));
    expect(ws.sent.slice(3).map((t) => JSON.parse(t))).toEqual([
      { skipped: 1, event: 'step', step: 8 },
      { event: 'status', step: 9 },
    ]);
  });

  it('sends nothing once the socket has closed, and wakes whoever waits for a drain', async () => {
    const ws = new FakeSocket();
    const s = new FrameSender(ws as unknown as WebSocket, 10);
    ws.bufferedAmount = 50;
    const waiting = s.drained();
    ws.readyState = 3;
    ws.emit('close');
    await waiting;
    s.send('{"event":"status"}');
    s.offer('step', '{"event":"step"}');
    expect(ws.sent).toHaveLength(0);
  });
});
