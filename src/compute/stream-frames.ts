// The frames of /v1/stream as data: reading one client frame (JSON, then the StreamRequest union) and the
// frames an op's result becomes (per-timestep forward_step / backward_step frames, then the result frame,
// the REST response encoded by its own schema). Here, below ws/, so that the event loop (small frames) and
// a pool worker (large ones, compute/offload.ts) run the very same code and send the very same bytes.
import { z } from 'zod';
import { toNested } from '../core/tensor.js';
import { AppError } from '../errors.js';
import { toIssues } from '../problems.js';
import { BpttResponse, ForwardResponse } from '../schemas/compute.js';
import { type BackwardStepFrame, type ForwardStepFrame, StreamRequest } from '../schemas/stream.js';
import type { BpttOut, ForwardOut, TensorData } from './tasks.js';

/** One client frame read: the request, or the error frame's id and error. */
export type DecodedFrame = { ok: true; frame: StreamRequest } | { ok: false; id?: string; error: AppError };

/** Reads one text frame as the stream always has: JSON.parse, then StreamRequest; errors name the first issue. */
export function decodeFrame(text: string): DecodedFrame {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: new AppError('malformed-json', `the frame is not valid JSON: ${(e as Error).message}`) };
  }
  const rawId = (raw as { id?: unknown } | null)?.id;
  const id = typeof rawId === 'string' ? rawId : undefined;
  const parsed = StreamRequest.safeParse(raw);
  if (parsed.success) return { ok: true, frame: parsed.data };
  const issues = toIssues(parsed.error.issues);
  const first = issues[0];
  const detail = `invalid frame at ${JSON.stringify(first?.path ?? [])}: ${first?.message ?? 'unknown problem'}`;
  return { ok: false, id, error: new AppError('invalid-request', detail, issues) };
}

/** Row t of a (B, T, H) tensor as a (B, H) matrix. */
function stepOf(x: TensorData, t: number): { rows: number[][]; norm: number } {
  const [B, T, H] = x.shape;
  const rows: number[][] = [];
  let s = 0;
  for (let b = 0; b < B; b++) {
    const o = (b * T + t) * H;
    const row = x.data.subarray(o, o + H);
    for (let i = 0; i < H; i++) s += row[i] * row[i];
    rows.push(toNested(row, [H]) as number[]);
  }
  return { rows, norm: Math.sqrt(s) };
}

/** forward_step frames for every t of h (B, T, H), numbered from `first` (a sequence's earlier steps). */
export function* forwardStepFrames(id: string, h: TensorData, first = 0): Generator<ForwardStepFrame> {
  for (let t = 0; t < h.shape[1]; t++) yield { event: 'forward_step', id, t: first + t, h: stepOf(h, t).rows };
}

/** backward_step frames from the last t down to 0. */
function* backwardStepFrames(id: string, dh: TensorData): Generator<BackwardStepFrame> {
  for (let t = dh.shape[1] - 1; t >= 0; t--) {
    const { rows, norm } = stepOf(dh, t);
    yield { event: 'backward_step', id, t, dh: rows, dhNorm: norm };
  }
}

/** The REST response, encoded by its zod schema, tagged as this op's result (and `tail` members after). */
function resultText<S extends z.ZodType>(
  schema: S,
  id: string,
  value: z.output<S>,
  tail: Record<string, unknown> = {},
): string {
  const body = z.encode(schema, value) as Record<string, unknown>;
  return JSON.stringify({ event: 'result', id, ...body, ...tail });
}

/** What a forward result frame holds: y, hT, and h / logits only when the client asked for them. */
function forwardValue(out: ForwardOut, include: readonly string[]) {
  const { h, logits, ...rest } = out;
  return {
    ...rest,
    ...(include.includes('h') ? { h } : {}),
    ...(include.includes('logits') ? { logits } : {}),
  };
}

/**
 * Every frame one op's (or one feed's) result becomes, in order: objects (a step frame, which the sender
 * stringifies) and the result frame's text. `out` always holds h (and dh for bptt): the steps need them.
 */
export type FramesSpec =
  | { op: 'forward'; id: string; include: readonly string[]; out: ForwardOut }
  | { op: 'bptt'; id: string; include: readonly string[]; out: BpttOut }
  | {
      op: 'feed';
      id: string;
      include: readonly string[];
      out: ForwardOut;
      /** Timesteps the session fed before this chunk, and after it. */
      first: number;
      steps: number;
      sequenceId: string;
    };

export function* resultFrames(spec: FramesSpec): Generator<object | string> {
  const { id, include, out } = spec;
  yield* forwardStepFrames(id, out.h!, spec.op === 'feed' ? spec.first : 0);
  if (spec.op === 'forward') {
    yield resultText(ForwardResponse, id, forwardValue(out, include));
    return;
  }
  if (spec.op === 'feed') {
    yield resultText(ForwardResponse, id, forwardValue(out, include), {
      sequenceId: spec.sequenceId,
      steps: spec.steps,
    });
    return;
  }
  const b = spec.out;
  yield* backwardStepFrames(id, b.dh!);
  const value: Record<string, unknown> = { loss: b.loss, y: b.y, hT: b.hT, grads: b.grads };
  for (const k of ['h', 'logits', 'dh', 'dx', 'dh0'] as const) if (include.includes(k) && b[k]) value[k] = b[k];
  yield resultText(BpttResponse, id, value as z.output<typeof BpttResponse>);
}

/** The frames of resultFrames as one UTF-8 buffer and the end offset of each frame (what a worker sends back). */
export function encodeFrames(spec: FramesSpec): { bytes: Buffer; ends: number[] } {
  const texts: string[] = [];
  for (const f of resultFrames(spec)) texts.push(typeof f === 'string' ? f : JSON.stringify(f));
  const ends: number[] = [];
  let n = 0;
  for (const t of texts) {
    n += Buffer.byteLength(t);
    ends.push(n);
  }
  const bytes = Buffer.allocUnsafeSlow(n);
  let at = 0;
  for (const t of texts) at += bytes.write(t, at);
  return { bytes, ends };
}
