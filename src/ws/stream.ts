// One /v1/stream socket: parses each frame against the StreamRequest union, runs up to `maxOps` operations
// at once (each with its own AbortSignal), answers every bad frame with an `error` frame and keeps going.
// Closing the socket aborts every operation. While the client reads slower than the ops produce, the
// ops wait (their frames are never dropped) and the socket stops reading new frames. A frame above
// UNROLL_OFFLOAD_BYTES is parsed and validated in the pool (the same decodeFrame); frames are still handled
// in the order they came, so a cancel right behind a large op finds it.
import type { FastifyBaseLogger } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { ModelService } from '../compute/models.js';
import { frameError } from '../compute/offload-wire.js';
import { COUNTED_ANSWER_BYTES, type SendBudget } from '../compute/send-budget.js';
import type { SequenceService } from '../compute/sequences.js';
import type { ComputeService } from '../compute/service.js';
import { DecodeFailure } from '../compute/service.js';
import { type DecodedFrame, decodeFrame } from '../compute/stream-frames.js';
import { CancelledError } from '../core/errors.js';
import { AppError } from '../errors.js';
import { errorToProblem } from '../problems.js';
import type { StreamRequest } from '../schemas/stream.js';
import { FrameSender } from './sender.js';
import { type OpContext, STREAM_OPS } from './stream-ops.js';
import { SequenceSessions } from './stream-sequences.js';

export interface StreamDeps {
  compute: ComputeService;
  models: ModelService;
  sequences: SequenceService;
  maxParams: number;
  maxBodyBytes: number;
  /** Operations one socket may have in flight (UNROLL_STREAM_MAX_OPS). */
  maxOps: number;
  /** Bytes buffered for the client before ops wait for it (UNROLL_WS_SEND_BUDGET). */
  sendBudget: number;
  /** The process-wide budget that op results count against while they wait for their client. */
  processBudget?: SendBudget;
  /** The socket's token digest when API tokens are on (its sequences are its own). */
  owner?: string;
  log: FastifyBaseLogger;
}

/** Resolves when the signal aborts; `off` removes the listener once the race is over. */
function onAbort(signal: AbortSignal): { promise: Promise<void>; off: () => void } {
  let handler = () => {};
  const promise = new Promise<void>((resolve) => {
    handler = () => resolve();
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', handler, { once: true });
  });
  return { promise, off: () => signal.removeEventListener('abort', handler) };
}

export function streamSession(ws: WebSocket, deps: StreamDeps): void {
  const sender = new FrameSender(ws, deps.sendBudget, deps.processBudget);
  const ops = new Map<string, AbortController>();

  // a client that does not read stops being read: its frames wait in TCP, not in our memory
  const pace = async (signal?: AbortSignal) => {
    if (!sender.over) return;
    ws.pause();
    const abort = signal ? onAbort(signal) : null;
    await Promise.race([sender.drained(), ...(abort ? [abort.promise] : [])]);
    abort?.off();
    ws.resume();
  };

  const sendError = (id: string | undefined, err: unknown) => {
    // errorToProblem knows every error but a cancellation, which has no HTTP answer: here it is a frame
    const e = err instanceof CancelledError ? new AppError('cancelled', err.message) : err;
    const body = errorToProblem(e, deps.maxBodyBytes)!.body;
    if (body.status === 503) deps.log.warn({ op: id, detail: body.detail }, 'stream operation shed');
    else if (body.status >= 500) deps.log.error({ err, op: id }, 'stream operation failed');
    sender.send(JSON.stringify({ event: 'error', ...(id === undefined ? {} : { id }), ...body }));
    void pace();
  };

  /** A frame as text: a step frame's object is stringified here; encoded frames (a Buffer) go as they are. */
  const sendFrame = (f: object | string | Buffer) => {
    if (Buffer.isBuffer(f)) sender.send('', f);
    else sender.send(typeof f === 'string' ? f : JSON.stringify(f));
  };

  const sessions = new SequenceSessions({
    sequences: deps.sequences,
    owner: deps.owner,
    getModel: (id) => deps.models.get(id),
    emit: async (f, signal) => {
      sendFrame(f);
      await pace(signal);
    },
    sendError,
    // as for HTTP answers: small ones go to the socket at once and are not counted
    reserve: (bytes, what) =>
      bytes >= COUNTED_ANSWER_BYTES && deps.processBudget ? deps.processBudget.reserve(bytes, what) : () => {},
    frames: (spec, bytes, signal) => deps.compute.frames(spec, bytes, signal),
  });

  const run = async (frame: Extract<StreamRequest, { op: 'forward' | 'bptt' }>, ac: AbortController) => {
    const releases: (() => void)[] = [];
    const ctx: OpContext = {
      compute: deps.compute,
      models: deps.models,
      maxParams: deps.maxParams,
      signal: ac.signal,
      hold: (bytes) => {
        if (deps.processBudget) releases.push(deps.processBudget.reserve(bytes, 'a stream result'));
      },
      emit: async (f) => {
        if (ac.signal.aborted) return;
        sendFrame(f);
        await pace(ac.signal);
      },
    };
    try {
      // a socket over its budget makes no new results: the op starts once the client has read
      if (sender.over) {
        await pace(ac.signal);
        if (ac.signal.aborted) throw new CancelledError('the operation was cancelled');
      }
      const handler = STREAM_OPS[frame.op] as (f: typeof frame, c: OpContext) => Promise<void>;
      await handler(frame, ctx);
      if (ac.signal.aborted) throw new CancelledError('the operation was cancelled');
    } catch (err) {
      sendError(frame.id, ac.signal.aborted ? new CancelledError('the operation was cancelled') : err);
    } finally {
      for (const release of releases) release();
      if (ops.get(frame.id) === ac) ops.delete(frame.id);
    }
  };

  let closed = false;
  const handle = (d: DecodedFrame) => {
    if (closed) return;
    if (!d.ok) return sendError(d.id, d.error);
    const frame = d.frame;
    if (frame.op === 'cancel') {
      // unknown or finished ids are ignored: a cancel may cross the op's last frame on the wire
      ops.get(frame.id)?.abort();
      return;
    }
    if (frame.op === 'feed') {
      try {
        sessions.feed(frame);
      } catch (err) {
        sendError(frame.id, err);
      }
      return;
    }
    if (ops.has(frame.id))
      return sendError(
        frame.id,
        new AppError('conflict', `an operation with id "${frame.id}" is in flight on this socket`),
      );
    if (ops.size >= deps.maxOps)
      return sendError(
        frame.id,
        new AppError(
          'rate-limited',
          `${ops.size} operations are in flight on this socket (UNROLL_STREAM_MAX_OPS = ${deps.maxOps}); wait for one or cancel one`,
        ),
      );
    const ac = new AbortController();
    ops.set(frame.id, ac);
    if (frame.op !== 'sequence') {
      void run(frame, ac);
      return;
    }
    // a session holds its place among the socket's ops until it ends
    ac.signal.addEventListener('abort', () => ops.get(frame.id) === ac && ops.delete(frame.id), { once: true });
    try {
      sessions.open(frame, ac);
    } catch (err) {
      ops.delete(frame.id);
      sendError(frame.id, err);
    }
  };

  const binary: DecodedFrame = {
    ok: false,
    error: new AppError('unsupported-media-type', 'frames are JSON text, not binary'),
  };
  /** A large frame, parsed and validated in the pool; its errors are the ones decodeFrame makes. */
  const decodeInPool = async (bytes: Buffer): Promise<DecodedFrame> => {
    try {
      const frame = (await deps.compute.decode({ kind: 'decode', what: 'frame' }, bytes)) as StreamRequest;
      return { ok: true, frame };
    } catch (err) {
      if (err instanceof DecodeFailure) return { ok: false, id: err.id, error: frameError(err.wire) };
      return { ok: false, error: err as AppError };
    }
  };
  // frames are handled in the order they arrived: behind a frame decoding in the pool, the next ones wait
  let queue: Promise<void> = Promise.resolve();
  let waiting = 0;
  ws.on('message', (data: RawData, isBinary: boolean) => {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const pooled = !isBinary && deps.compute.offloads(bytes.length);
    if (!pooled && waiting === 0) return handle(isBinary ? binary : decodeFrame(bytes.toString()));
    const decoded = pooled ? decodeInPool(bytes) : Promise.resolve(isBinary ? binary : decodeFrame(bytes.toString()));
    waiting++;
    queue = queue
      .then(() => decoded)
      .then(handle)
      .catch((err) => sendError(undefined, err))
      .finally(() => {
        waiting--;
      });
  });

  ws.on('close', () => {
    closed = true;
    for (const ac of ops.values()) ac.abort();
    ops.clear();
  });
}
