// The operations of /v1/stream, one handler each. A handler runs its op through the ComputeService (the
// pool for large ones, cancelled by the signal), emits its per-timestep frames, then the result frame,
// encoded by the REST route's own response schema so it is the REST body (compute/stream-frames.ts; a large
// result's frames are encoded in the pool, the same bytes). Adding an op = one entry here.
import { answerBytes, answerElements, JSON_BYTES_PER_NUMBER } from '../compute/cost.js';
import type { ModelService } from '../compute/models.js';
import { materialize } from '../compute/models.js';
import { toTask } from '../compute/requests.js';
import type { ComputeService } from '../compute/service.js';
import { type FramesSpec, resultFrames } from '../compute/stream-frames.js';
import type { ComputeTask } from '../compute/tasks.js';
import type { ElmanModel } from '../core/model.js';
import type { BpttOp, ForwardOp, StreamOpName, StreamRequest } from '../schemas/stream.js';

export { forwardStepFrames } from '../compute/stream-frames.js';

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
  emit(frame: object | string | Buffer): Promise<void>;
}

export type OpHandler<F> = (frame: F, ctx: OpContext) => Promise<void>;
type Handlers = { [K in StreamOpName]: OpHandler<Extract<StreamRequest, { op: K }>> };

async function modelOf(frame: ForwardOp | BpttOp, ctx: OpContext): Promise<{ model: ElmanModel; stored: boolean }> {
  if (frame.model) return { model: materialize(frame.model, ctx.maxParams), stored: false };
  return { model: await ctx.models.get(frame.modelId!), stored: true };
}

/** What an op holds while its client reads: the result's float64 tensors and the text of its frames. */
function heldBytes(task: Parameters<typeof answerElements>[0]): number {
  return answerElements(task) * (Float64Array.BYTES_PER_ELEMENT + JSON_BYTES_PER_NUMBER);
}

/**
 * Emits every frame of a result, in order, stopping when the op is cancelled: encoded in the pool when the
 * result is large (one buffer of frames), else each frame as it goes out.
 */
export async function emitFrames(
  ctx: Pick<OpContext, 'compute' | 'signal' | 'emit'>,
  spec: FramesSpec,
  task: ComputeTask,
): Promise<void> {
  const encoded = await ctx.compute.frames(spec, answerBytes(task), ctx.signal);
  for (const f of encoded ?? resultFrames(spec)) {
    if (ctx.signal.aborted) return;
    await ctx.emit(f);
  }
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
    await emitFrames(ctx, { op: 'forward', id: frame.id, include, out }, task);
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
    await emitFrames(ctx, { op: 'bptt', id: frame.id, include, out }, task);
  },
};
