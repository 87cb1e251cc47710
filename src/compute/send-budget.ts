// The process-wide send budget: bytes held for answers a client has not read yet (HTTP bodies still in
// user space, stream results held for a socket). A client that does not read can then pin at most its share
// of one bounded pool, never the server's memory: past the budget a new large answer is a 503 with
// Retry-After, and a connection that makes no progress for the send timeout is closed. The HTTP hooks that
// use it are in http/send-budget.ts; /v1/stream ops reserve their results here too.
import type { Socket } from 'node:net';
import { AppError } from '../errors.js';

/** HTTP answers at least this large are counted (smaller ones go to the kernel's socket buffer at once). */
export const COUNTED_ANSWER_BYTES = 64 * 1024;
/** How often the send timeout is checked. */
const SWEEP_MS = 1000;
const RETRY_AFTER_S = '5';

interface Pending {
  socket: Socket;
  unsent: number;
  since: number;
}

/** Bytes a socket still has to hand to the kernel: its stream buffer and libuv's write queue. */
export function unsentBytes(socket: Socket): number {
  const handle = (socket as Socket & { _handle?: { writeQueueSize?: number } | null })._handle;
  return socket.writableLength + (handle?.writeQueueSize ?? 0);
}

export class SendBudget {
  private heldBytes = 0;
  private readonly pending = new Set<Pending>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    /** UNROLL_SEND_BUDGET_BYTES. */
    readonly max: number,
    /** UNROLL_SEND_TIMEOUT_MS: a connection with unsent bytes and no progress for this long is closed. */
    readonly timeoutMs: number,
  ) {}

  get held(): number {
    return this.heldBytes;
  }

  /** Whether `bytes` more fit. One answer alone always fits, so a large but admitted answer still goes out. */
  fits(bytes: number): boolean {
    return this.heldBytes === 0 || this.heldBytes + bytes <= this.max;
  }

  /** Takes `bytes` from the budget, or throws the 503 a client sees; the release function is idempotent. */
  reserve(bytes: number, what: string): () => void {
    if (!this.fits(bytes)) throw this.overloaded(bytes, what);
    this.heldBytes += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.heldBytes -= bytes;
    };
  }

  /** Takes `bytes` whether they fit or not (an answer admitted earlier on its estimate). */
  force(bytes: number): () => void {
    this.heldBytes += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.heldBytes -= bytes;
    };
  }

  /** Refuses before any work when an answer of about `bytes` could not be held now. */
  check(bytes: number, what: string): void {
    if (bytes >= COUNTED_ANSWER_BYTES && !this.fits(bytes)) throw this.overloaded(bytes, what);
  }

  overloaded(bytes: number, what: string): AppError {
    return new AppError(
      'overloaded',
      `answers not yet read by their clients hold ${this.heldBytes} bytes; ${what} of ${bytes} bytes more would pass UNROLL_SEND_BUDGET_BYTES = ${this.max}`,
      undefined,
      { 'retry-after': RETRY_AFTER_S },
    );
  }

  /** Watches a connection with unsent bytes until `done`; without progress for the timeout it is destroyed. */
  watch(socket: Socket, onStall: () => void): () => void {
    const p: Pending = { socket, unsent: unsentBytes(socket), since: Date.now() };
    this.pending.add(p);
    this.timer ??= setInterval(() => this.sweep(onStall), Math.min(SWEEP_MS, this.timeoutMs)).unref();
    return () => {
      this.pending.delete(p);
      if (this.pending.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  private sweep(onStall: () => void): void {
    const now = Date.now();
    for (const p of this.pending) {
      const unsent = unsentBytes(p.socket);
      if (unsent === 0 || unsent < p.unsent) {
        p.unsent = unsent;
        p.since = now;
      } else if (now - p.since >= this.timeoutMs) {
        this.pending.delete(p);
        onStall();
        p.socket.destroy();
      }
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.pending.clear();
  }
}
