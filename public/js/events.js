// The event socket of one run (GET /v1/runs/:id/events): replays, then follows live, and after a dropped
// connection reconnects with backoff and resumes with ?since= the last step it saw, dropping any frame it
// already had. It stops for good when the run has ended (a final status, or the server's normal close).

export const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
/** The server closes the socket with this code once the run has ended and everything was sent. */
export const NORMAL_CLOSE = 1000;
/** Reconnect delays: from the first, doubling, up to the cap, each with up to JITTER of itself added. */
export const BACKOFF = { firstMs: 250, maxMs: 5000, jitter: 0.3 };

/** @typedef {'connecting' | 'live' | 'reconnecting' | 'ended' | 'stopped'} SocketState */

/**
 * @typedef {object} Frame
 * @property {'step' | 'hidden' | 'status'} event
 * @property {number} step
 * @property {number} [loss]
 * @property {number} [accuracy]
 * @property {Record<string, number>} [gradNorm]
 * @property {number[]} [dhNorm]
 * @property {number[][]} [h]
 * @property {string} [status]
 * @property {string} [reason]
 * @property {string} [modelId]
 * @property {number} [skipped]
 */

/**
 * @typedef {object} SocketLike
 * @property {((ev: {data: unknown}) => void) | null} onmessage
 * @property {((ev: {code: number, reason: string}) => void) | null} onclose
 * @property {(() => void) | null} onopen
 * @property {(() => void) | null} onerror
 * @property {(code?: number, reason?: string) => void} close
 */

/**
 * @typedef {object} RunEventsOptions
 * @property {(since: number) => string} url the socket URL for a resume point (-1: everything)
 * @property {(frame: Frame) => void} onFrame
 * @property {(state: SocketState, detail: {connects: number, since: number, delayMs?: number}) => void} [onState]
 * @property {new (url: string) => SocketLike} [WebSocket]
 * @property {(fn: () => void, ms: number) => unknown} [setTimeout]
 * @property {(id: unknown) => void} [clearTimeout]
 * @property {() => number} [random]
 */

export class RunEvents {
  /** @param {RunEventsOptions} opts */
  constructor(opts) {
    this.opts = opts;
    this.WS = opts.WebSocket ?? /** @type {new (url: string) => SocketLike} */ (globalThis.WebSocket);
    this.setTimeout = opts.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms));
    this.clearTimeout = opts.clearTimeout ?? ((id) => globalThis.clearTimeout(/** @type {number} */ (id)));
    this.random = opts.random ?? Math.random;
    /** Highest step of a `step` frame received: the resume point. */
    this.lastStep = -1;
    /** Highest step of a `hidden` frame received. */
    this.lastHidden = -1;
    /** Sockets opened so far (1 + reconnects). */
    this.connects = 0;
    /** Frames the server said it skipped because this client read too slowly. */
    this.skipped = 0;
    /** Of those, `step` frames: with the steps received they account for every step up to lastStep. */
    this.skippedSteps = 0;
    /** Frames received again after a resume and dropped. */
    this.duplicates = 0;
    /** @type {SocketState} */
    this.state = 'stopped';
    this.attempt = 0;
    /** @type {SocketLike | null} */ this.ws = null;
    /** @type {unknown} */ this.timer = null;
  }

  start() {
    if (this.state !== 'stopped') return;
    this.connect();
  }

  /** Closes the socket and never reconnects (another run was selected, or the page is going away). */
  stop() {
    this.setState('stopped');
    if (this.timer !== null) this.clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = ws.onmessage = ws.onopen = ws.onerror = null;
      ws.close(NORMAL_CLOSE, 'the viewer left');
    }
  }

  connect() {
    this.timer = null;
    this.connects++;
    this.setState('connecting');
    const ws = new this.WS(this.opts.url(this.lastStep));
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      if (this.state === 'connecting') this.setState('live');
    };
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onerror = () => {}; // a close event always follows, and that is where we decide
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.state === 'ended' || ev.code === NORMAL_CLOSE) this.setState('ended');
      else this.retry();
    };
  }

  retry() {
    const base = Math.min(BACKOFF.maxMs, BACKOFF.firstMs * 2 ** this.attempt);
    const delayMs = Math.round(base * (1 + BACKOFF.jitter * this.random()));
    this.attempt++;
    this.setState('reconnecting', delayMs);
    this.timer = this.setTimeout(() => this.connect(), delayMs);
  }

  /** @param {unknown} data */
  receive(data) {
    if (typeof data !== 'string') return;
    /** @type {Frame} */
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return; // not ours to crash on: the next frame may be fine
    }
    if (frame.event === 'step') {
      if (frame.step <= this.lastStep) return void this.duplicates++;
      this.lastStep = frame.step;
    } else if (frame.event === 'hidden') {
      if (frame.step <= this.lastHidden) return void this.duplicates++;
      this.lastHidden = frame.step;
    }
    if (frame.skipped) {
      this.skipped += frame.skipped;
      if (frame.event === 'step') this.skippedSteps += frame.skipped;
    }
    if (frame.event === 'status' && frame.status && FINAL.has(frame.status)) this.state = 'ended';
    this.opts.onFrame(frame);
  }

  /** @param {SocketState} state @param {number} [delayMs] */
  setState(state, delayMs) {
    this.state = state;
    this.opts.onState?.(state, { connects: this.connects, since: this.lastStep, delayMs });
  }
}
