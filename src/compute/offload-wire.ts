// The light half of the offload (compute/offload.ts is the worker's half, with the schemas): the messages
// a worker is sent and answers with, the raw body and encoded answer the routes pass around, and the
// errors-as-data rebuilt on the event loop. Nothing here imports a schema, so that the event loop's modules
// that only pass these along do not load (and register) the schemas before their usual turn.
import { AppError, type ProblemSlug, RequestValidationError } from '../errors.js';
import type { Issue } from '../schemas/problem.js';
import type { FramesSpec } from './stream-frames.js';
import type { ComputeTask } from './tasks.js';

export type Op = ComputeTask['op'];
/** The response schemas an answer can be encoded as (compute/offload.ts RESPONSES). */
export type EncodeAs = Op | 'v2';

/** A request body left unparsed for the pool: what the offloading content-type parser hands a route. */
export class RawBody {
  constructor(
    readonly bytes: Buffer,
    /** /v2 binary tensor data: the JSON header's length (Inference-Header-Content-Length). */
    readonly binaryHeader?: number,
  ) {}
}

/** An answer already encoded as JSON (in a worker): the route writes these bytes as they are. */
export class EncodedJson {
  constructor(readonly bytes: Buffer) {}
}

/** What the event loop's parser would have failed with, as data. */
export type WireError =
  | { kind: 'invalid'; issues: Issue[] }
  | { kind: 'app'; slug: ProblemSlug; message: string; issues?: Issue[]; headers?: Record<string, string> }
  /** Fastify's own JSON body errors, by code (the HTTP layer rebuilds them with Fastify's classes). */
  | { kind: 'json'; code: 'FST_ERR_CTP_INVALID_JSON_BODY' | 'FST_ERR_CTP_EMPTY_JSON_BODY' };

export type DecodeJob =
  /** /v1/<op> with an inline model: the task itself (the model materialized in the worker). */
  | { kind: 'decode'; what: 'inline'; op: Op; body: Uint8Array; maxParams: number }
  /** /v1/models/:id/<op>: the validated body (the stored model is the event loop's to read). */
  | { kind: 'decode'; what: 'stored'; op: Op; body: Uint8Array }
  /** /v2 infer, JSON or binary tensor data. */
  | { kind: 'decode'; what: 'v2'; body: Uint8Array; binaryHeader?: number }
  /** One /v1/stream text frame. */
  | { kind: 'decode'; what: 'frame'; body: Uint8Array };

/** A decode job before its body is attached (distributes over the union, as Omit does not). */
export type DecodeSpec = DecodeJob extends infer J ? (J extends DecodeJob ? Omit<J, 'body'> : never) : never;

export type DecodeResult =
  | { ok: true; value: unknown }
  | { ok: false; error: WireError /** a stream frame's id, for its error frame */; id?: string };

export type OffloadJob =
  | DecodeJob
  /** Encodes an answer computed elsewhere. */
  | { kind: 'encode'; as: EncodeAs; value: unknown }
  /** Encodes the frames of a stream op's result. */
  | { kind: 'frames'; spec: FramesSpec };

/**
 * A compute task whose answer is encoded by the compute thread that computed it (a compute pool job, not a
 * codec one): the result never crosses back as numbers, only as the answer's bytes.
 */
export interface ComputeEncodeJob {
  kind: 'compute';
  task: ComputeTask;
  as: EncodeAs;
}

/** What a ComputeEncodeJob gives back: the task's error as runTask reports it, or the encoded answer. */
export type ComputeEncodeResult =
  | Extract<import('./tasks.js').TaskOutput, { ok: false }>
  | { ok: true; encoded: Uint8Array };

/** The ArrayBuffers of every typed array in a (task-like) value, to transfer instead of copy. */
export function buffersOf(value: unknown, out = new Set<ArrayBuffer>(), depth = 0): ArrayBuffer[] {
  if (depth > 8 || value === null || typeof value !== 'object') return [...out];
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer) out.add(value.buffer);
  } else if (Array.isArray(value)) {
    // arrays of numbers (a shape) hold nothing to transfer: only look at arrays of objects
    if (value.length && typeof value[0] === 'object') for (const v of value) buffersOf(v, out, depth + 1);
  } else for (const v of Object.values(value)) buffersOf(v, out, depth + 1);
  return [...out];
}

/** An owned copy of `bytes` that can be transferred: a Buffer from the shared pool must not be detached. */
export function transferable(bytes: Buffer): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer)
    return new Uint8Array(bytes.buffer, 0, bytes.byteLength);
  return new Uint8Array(bytes);
}

/** Event-loop side: the error the inline path would have thrown (Fastify's JSON errors: see http/offload.ts). */
export function errorOf(e: Exclude<WireError, { kind: 'json' }>): AppError {
  if (e.kind === 'invalid') return new RequestValidationError(e.issues);
  return new AppError(e.slug, e.message, e.issues, e.headers);
}

/** A stream frame's error, rebuilt (decodeFrame makes AppErrors only: its JSON errors are its own). */
export function frameError(e: WireError): AppError {
  if (e.kind === 'json') return new AppError('malformed-json', `the frame is not valid JSON (${e.code})`);
  return errorOf(e);
}
