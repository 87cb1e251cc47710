// A frame reader for WebSocket tests: every text frame parsed as JSON in arrival order, and waits for
// the next frame that matches, for the close, or for a frame count, with generous timeouts.
import type { WebSocket } from 'ws';

// biome-ignore lint/suspicious/noExplicitAny: frames are checked by the tests that read them
export type Frame = Record<string, any>;

const WAIT_MS = 20_000;

export class Frames {
  readonly all: Frame[] = [];
  private cursor = 0;
  private wake: (() => void) | null = null;
  closed: { code: number; reason: string } | null = null;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.all.push(JSON.parse(data.toString()));
      this.wake?.();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake?.();
    });
  }

  private async until<T>(probe: () => T | undefined, what: string): Promise<T> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const v = probe();
      if (v !== undefined) return v;
      if (this.closed) throw new Error(`socket closed (${this.closed.code}) while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 200);
      });
    }
  }

  /** The next frame (after the last one returned) that matches. */
  next(match: (f: Frame) => boolean = () => true, what = 'a frame'): Promise<Frame> {
    return this.until(() => {
      while (this.cursor < this.all.length) {
        const f = this.all[this.cursor++];
        if (match(f)) return f;
      }
      return undefined;
    }, what);
  }

  /** Every frame until the server closes the socket. */
  async untilClosed(): Promise<Frame[]> {
    await this.until(() => (this.closed ? true : undefined), 'the close');
    return this.all;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }
}

/** injectWS with the reader attached before the socket opens, so no early frame is missed. */
export async function injectFrames(
  app: { injectWS: (path: string, ctx?: object, opts?: { onInit?: (ws: WebSocket) => void }) => Promise<WebSocket> },
  path: string,
  headers: Record<string, string> = {},
): Promise<Frames> {
  let frames: Frames | undefined;
  await app.injectWS(path, { headers }, { onInit: (ws) => (frames = new Frames(ws)) });
  return frames!;
}
