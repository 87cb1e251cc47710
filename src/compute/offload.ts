// Large requests off the event loop (UNROLL_OFFLOAD_BYTES, docs/compute.md): what a pool worker does with a
// body the event loop did not parse, and with an answer it does not encode. Every function here is the
// inline path's own code run elsewhere: the same JSON parser with the same prototype-poisoning checks, the
// same zod schemas, the same materialize/toTask, the same response schemas and JSON.stringify, so that the
// bytes a client gets (answers and problem+json errors alike) do not depend on where the work ran. Errors
// cross the thread boundary as data (a thrown class does not survive structured clone) and are rebuilt as
// the same classes on the event loop.
import { parse as secureJsonParse } from 'secure-json-parse';
import { z } from 'zod';
import { AppError } from '../errors.js';
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
import { InferRequest, InferResponse } from '../schemas/v2.js';
import { splitBinaryBody } from './binary-tensors.js';
import { materialize } from './models.js';
import {
  buffersOf,
  type DecodeJob,
  type DecodeResult,
  type EncodeAs,
  type OffloadJob,
  transferable,
  type WireError,
} from './offload-wire.js';
import { toTask } from './requests.js';
import { decodeFrame, encodeFrames } from './stream-frames.js';

const BODIES = { forward: ForwardBody, bptt: BpttBody, jacobian: JacobianBody, gradcheck: GradcheckBody };
const INPUTS = { forward: ForwardInput, bptt: BpttInput, jacobian: JacobianInput, gradcheck: GradcheckInput };
export const RESPONSES: Record<EncodeAs, unknown> = {
  forward: ForwardResponse,
  bptt: BpttResponse,
  jacobian: JacobianResponse,
  gradcheck: GradcheckResponse,
  v2: InferResponse,
};

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
