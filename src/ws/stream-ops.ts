// The operations of /v1/stream, one handler each. A handler runs its op through the ComputeService (the
// pool for large ones, cancelled by the signal), emits its per-timestep frames, then the result frame,
// encoded by the REST route's own response schema so it is the REST body. Adding an op = one entry here.
import { z } from 'zod';
import { answerElements, JSON_BYTES_PER_NUMBER } from '../compute/cost.js';
import type { ModelService } from '../compute/models.js';
import { materialize } from '../compute/models.js';
import { toTask } from '../compute/requests.js';
import type { ComputeService } from '../compute/service.js';
import type { TensorData } from '../compute/tasks.js';
import type { ElmanModel } from '../core/model.js';
import { toNested } from '../core/tensor.js';
import { BpttResponse, ForwardResponse } from '../schemas/compute.js';
import type {
  BackwardStepFrame,
  BpttOp,
  ForwardOp,
  ForwardStepFrame,
  StreamOpName,
  StreamRequest,
} from '../schemas/stream.js';

export interface OpContext {
  compute: ComputeService;
  models: ModelService;
  maxParams: number;
  signal: AbortSignal;
  /**
   * Counts `bytes` of result this op will hold until its frames are read against the process-wide send
   * budget (UNROLL_SEND_BUDGET_BYTES), until the op ends; throws the 503 when they do not fit.
   */
  hold(bytes: number): void;
  /** Sends one frame (never dropped) and resolves when the client has read enough to take more. */
  emit(frame: object | string): Promise<void>;
}

export type OpHandler<F> = (frame: F, ctx: OpContext) => Promise<void>;
type Handlers = { [K in StreamOpName]: OpHandler<Extract<StreamRequest, { op: K }>> };

async function modelOf(frame: ForwardOp | BpttOp, ctx: OpContext): Promise<{ model: ElmanModel; stored: boolean }> {
  if (frame.model) return { model: materialize(frame.model, ctx.maxParams), stored: false };
  return { model: await ctx.models.get(frame.modelId!), stored: true };
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

async function forwardSteps(id: string, h: TensorData, ctx: OpContext): Promise<void> {
  for (const frame of forwardStepFrames(id, h)) {
    if (ctx.signal.aborted) return;
    await ctx.emit(frame);
  }
}

/** What an op holds while its client reads: the result's float64 tensors and the text of its frames. */
function heldBytes(task: Parameters<typeof answerElements>[0]): number {
  return answerElements(task) * (Float64Array.BYTES_PER_ELEMENT + JSON_BYTES_PER_NUMBER);
}

/** The REST response, encoded by its zod schema, tagged as this op's result. */
function resultText<S extends z.ZodType>(schema: S, id: string, value: z.output<S>): string {
  const body = z.encode(schema, value) as Record<string, unknown>;
  return JSON.stringify({ event: 'result', id, ...body });
}

export const STREAM_OPS: Handlers = {
  async forward(frame, ctx) {
    const { model, stored } = await modelOf(frame, ctx);
    const include = frame.include ?? [];
    // h is always computed (the steps need it) but sent in the result only when asked for, as REST does
    const task = toTask('forward', model, { ...frame, include: [...new Set([...include, 'h' as const])] }, stored);
    ctx.compute.admit(task, true);
    ctx.hold(heldBytes(task));
    const out = await ctx.compute.run(task, ctx.signal, true);
    await forwardSteps(frame.id, out.h!, ctx);
    if (ctx.signal.aborted) return;
    const { h, logits, ...rest } = out;
    const value = {
      ...rest,
      ...(include.includes('h') ? { h } : {}),
      ...(include.includes('logits') ? { logits } : {}),
    };
    await ctx.emit(resultText(ForwardResponse, frame.id, value));
  },

  async bptt(frame, ctx) {
    const { model, stored } = await modelOf(frame, ctx);
    const include = frame.include ?? [];
    const task = toTask(
      'bptt',
      model,
      { ...frame, include: [...new Set([...include, 'h' as const, 'dh' as const])] },
      stored,
    );
    ctx.compute.admit(task, true);
    ctx.hold(heldBytes(task));
    const out = await ctx.compute.run(task, ctx.signal, true);
    await forwardSteps(frame.id, out.h!, ctx);
    const dh = out.dh!;
    for (let t = dh.shape[1] - 1; t >= 0 && !ctx.signal.aborted; t--) {
      const { rows, norm } = stepOf(dh, t);
      const f: BackwardStepFrame = { event: 'backward_step', id: frame.id, t, dh: rows, dhNorm: norm };
      await ctx.emit(f);
    }
    if (ctx.signal.aborted) return;
    const value: Record<string, unknown> = { loss: out.loss, y: out.y, hT: out.hT, grads: out.grads };
    for (const k of ['h', 'logits', 'dh', 'dx', 'dh0'] as const) if (include.includes(k) && out[k]) value[k] = out[k];
    await ctx.emit(resultText(BpttResponse, frame.id, value as z.output<typeof BpttResponse>));
  },
};
