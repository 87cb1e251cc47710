// The frame sender of one WebSocket, with a send budget: bytes the socket may hold buffered for a client.
// Above it, conflatable frames (a run's `step` and `hidden`) wait in one slot per kind where the latest
// wins, and the frame that finally goes out says how many of its kind were skipped; every other frame is
// sent in order, never dropped. `drained()` lets a producer that must not drop (a replay, an op's frames)
// wait for the client to read instead.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { SendBudget } from '../compute/send-budget.js';

interface Slot {
  text: string;
  skipped: number;
  order: number;
}

export class FrameSender {
  private readonly slots = new Map<string, Slot>();
  private waiters: (() => void)[] = [];
  private order = 0;
  private unwatch: (() => void) | null = null;
  /** Frames dropped by conflation on this socket, all kinds together. */
  skippedTotal = 0;

  constructor(
    private readonly ws: WebSocket,
    readonly budget: number,
    /** When given, a socket over its budget that takes no bytes for its send timeout is closed. */
    private readonly process?: SendBudget,
  ) {
    ws.once('close', () => {
      this.unwatch?.();
      this.unwatch = null;
      this.wake();
    });
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  get over(): boolean {
    return this.ws.bufferedAmount > this.budget;
  }

  /** Sends a frame that is never dropped, after any conflated frames that came before it. */
  send(text: string, bytes?: Buffer): void {
    if (!this.open) return;
    this.flushSlots();
    this.write(bytes ?? text);
  }

  /** Sends a conflatable frame now, or keeps it as the latest of its kind until the client catches up. */
  offer(kind: string, text: string, bytes?: Buffer): void {
    if (!this.open) return;
    if (!this.over && this.slots.size === 0) {
      this.write(bytes ?? text);
      return;
    }
    const prev = this.slots.get(kind);
    if (prev) this.skippedTotal++;
    this.slots.set(kind, { text, skipped: prev ? prev.skipped + 1 : 0, order: this.order++ });
  }

  /** Resolves once the socket holds no more than its budget (or has closed). */
  drained(): Promise<void> {
    if (!this.over || !this.open) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(code: number, reason: string): void {
    if (!this.open) return;
    this.flushSlots();
    this.ws.close(code, reason);
  }

  /** Called as each frame leaves for the network: the moment the buffer shrinks. */
  private readonly onWritten = () => {
    if (this.over && this.open) return;
    this.unwatch?.();
    this.unwatch = null;
    if (this.slots.size) this.flushSlots();
    this.wake();
  };

  private flushSlots(): void {
    if (this.slots.size === 0) return;
    const slots = [...this.slots.values()].sort((a, b) => a.order - b.order);
    this.slots.clear();
    for (const s of slots) {
      // a frame is a JSON object: the count goes in as its first member
      const text = s.skipped ? `{"skipped":${s.skipped},${s.text.slice(1)}` : s.text;
      this.write(text);
    }
  }

  /** A frame already encoded (one Buffer shared by every follower of a run) is sent as text all the same. */
  private write(data: string | Buffer): void {
    this.ws.send(data, { binary: false }, this.onWritten);
    const socket = (this.ws as WebSocket & { _socket?: Socket })._socket;
    if (this.process && !this.unwatch && this.over && socket) this.unwatch = this.process.watch(socket, () => {});
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}
