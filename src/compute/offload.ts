// Large requests off the event loop (UNROLL_OFFLOAD_BYTES, docs/compute.md): what a pool worker does with a
// body the event loop did not parse, and with an answer it does not encode. Every function here is the
// inline path's own code run elsewhere: the same JSON parser with the same prototype-poisoning checks, the
// same zod schemas, the same materialize/toTask, the same response schemas and JSON.stringify, so that the
// bytes a client gets (answers and problem+json errors alike) do not depend on where the work ran. Errors
// cross the thread boundary as data (a thrown class does not survive structured clone) and are rebuilt as
// the same classes on the event loop.
import { parse as secureJsonParse } from 'secure-json-parse';
import { z } from 'zod';
import { AppError, type ProblemSlug, RequestValidationError } from '../errors.js';
import { toIssues } from '../problems.js';
import {
  BpttBody,
  BpttInput,
  BpttResponse,
  ForwardBody,
  ForwardInput,
  ForwardResponse,
  GradcheckBody,
  GradcheckInput,
  GradcheckResponse,
  JacobianBody,
  JacobianInput,
  JacobianResponse,
} from '../schemas/compute.js';
import type { InlineModel } from '../schemas/model.js';
import type { Issue } from '../schemas/problem.js';
import type { StreamRequest } from '../schemas/stream.js';
import { InferRequest, InferResponse } from '../schemas/v2.js';
import { splitBinaryBody } from './binary-tensors.js';
import { materialize } from './models.js';
import { toTask } from './requests.js';
import { decodeFrame, encodeFrames, type FramesSpec } from './stream-frames.js';
import type { ComputeTask } from './tasks.js';

export type Op = ComputeTask['op'];

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

const BODIES = { forward: ForwardBody, bptt: BpttBody, jacobian: JacobianBody, gradcheck: GradcheckBody };
const INPUTS = { forward: ForwardInput, bptt: BpttInput, jacobian: JacobianInput, gradcheck: GradcheckInput };
export const RESPONSES = {
  forward: ForwardResponse,
  bptt: BpttResponse,
  jacobian: JacobianResponse,
  gradcheck: GradcheckResponse,
  v2: InferResponse,
} as const;
export type EncodeAs = keyof typeof RESPONSES;

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

const utf8 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');

/** Fastify's default JSON parser (onProtoPoisoning and onConstructorPoisoning 'error'), as data. */
function parseJsonBody(b: Uint8Array): { ok: true; value: unknown } | { ok: false; error: WireError } {
  if (b.byteLength === 0) return { ok: false, error: { kind: 'json', code: 'FST_ERR_CTP_EMPTY_JSON_BODY' } };
  try {
    return { ok: true, value: secureJsonParse(utf8(b), { protoAction: 'error', constructorAction: 'error' }) };
  } catch {
    return { ok: false, error: { kind: 'json', code: 'FST_ERR_CTP_INVALID_JSON_BODY' } };
  }
}

/** The validator compiler's result (http/errors.ts), as data. */
function validate(schema: z.ZodType, data: unknown): { ok: true; value: unknown } | { ok: false; error: WireError } {
  const r = z.safeParse(schema, data);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, error: { kind: 'invalid', issues: toIssues(r.error.issues) } };
}

const appError = (e: AppError): WireError => ({
  kind: 'app',
  slug: e.slug,
  message: e.message,
  ...(e.issues ? { issues: e.issues } : {}),
  ...(e.headers ? { headers: e.headers } : {}),
});

/** Worker side: a body into what the route would have had after parsing and validation. */
export function decode(job: DecodeJob): DecodeResult {
  try {
    if (job.what === 'frame') {
      const r = decodeFrame(utf8(job.body));
      return r.ok ? { ok: true, value: r.frame } : { ok: false, id: r.id, error: appError(r.error) };
    }
    let parsed: { ok: true; value: unknown } | { ok: false; error: WireError };
    if (job.what === 'v2' && job.binaryHeader !== undefined)
      parsed = {
        ok: true,
        value: splitBinaryBody(
          Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength),
          job.binaryHeader,
        ),
      };
    else parsed = parseJsonBody(job.body);
    if (!parsed.ok) return parsed;
    if (job.what === 'v2') return validate(InferRequest, parsed.value);
    if (job.what === 'stored') return validate(INPUTS[job.op], parsed.value);
    const body = validate(BODIES[job.op], parsed.value);
    if (!body.ok) return body;
    const b = body.value as { model: InlineModel };
    return { ok: true, value: toTask(job.op, materialize(b.model, job.maxParams), b as never) };
  } catch (e) {
    if (e instanceof AppError) return { ok: false, error: appError(e) };
    throw e;
  }
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

/** The answer as the route's response schema and Fastify's serializer write it: z.encode, then JSON.stringify. */
export function encodeJson(as: EncodeAs, value: unknown): Buffer {
  return Buffer.from(JSON.stringify(z.encode(RESPONSES[as] as z.ZodType, value)));
}

/** Worker side: one offload job; typed arrays and encoded bytes go back transferred, not copied. */
export function runOffloadJob(job: OffloadJob): { value: unknown; transfer: ArrayBuffer[] } {
  switch (job.kind) {
    case 'decode': {
      const r = decode(job);
      return { value: r, transfer: r.ok ? buffersOf(r.value) : [] };
    }
    case 'encode': {
      const bytes = transferable(encodeJson(job.as, job.value));
      return { value: bytes, transfer: [bytes.buffer as ArrayBuffer] };
    }
    case 'frames': {
      const { bytes, ends } = encodeFrames(job.spec);
      const b = transferable(bytes);
      return { value: { bytes: b, ends }, transfer: [b.buffer as ArrayBuffer] };
    }
  }
}

export type { StreamRequest };
