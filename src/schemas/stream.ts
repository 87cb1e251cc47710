// GET /v1/stream: the frames a client sends (a discriminated union on `op`) and the frames the server
// answers with (a discriminated union on `event`), every one tagged with the operation's `id`.
// A new op is one more member of StreamRequest and one handler in ws/stream-ops.ts.
import { z } from 'zod';
import { BpttInput, batchIssues, ForwardInput } from './compute.js';
import { InlineModel } from './model.js';
import { Problem } from './problem.js';
import type { TensorData } from './tensor.js';

export const OpId = z
  .string()
  .min(1)
  .max(128)
  .meta({ description: 'the client’s name for the operation; every frame about it carries it' });

const modelRef = {
  id: OpId,
  model: InlineModel.optional(),
  modelId: z.string().min(1).max(128).optional().meta({ description: 'a stored model, instead of model' }),
};

/** Exactly one of model / modelId; an inline model's batch is cross-checked here, a stored one's when it is loaded. */
function oneModel(
  b: { model?: InlineModel; modelId?: string; x: TensorData; h0?: TensorData; targets?: TensorData },
  ctx: z.RefinementCtx,
) {
  if ((b.model === undefined) === (b.modelId === undefined)) {
    ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of model or modelId' });
    return;
  }
  if (b.model) for (const i of batchIssues(b.model.config, b)) ctx.addIssue({ code: 'custom', ...i });
}

export const ForwardOp = z
  .strictObject({ op: z.literal('forward'), ...modelRef, ...ForwardInput.shape })
  .superRefine(oneModel)
  .meta({ id: 'StreamForwardOp' });
export type ForwardOp = z.infer<typeof ForwardOp>;

export const BpttOp = z
  .strictObject({ op: z.literal('bptt'), ...modelRef, ...BpttInput.shape })
  .superRefine(oneModel)
  .meta({ id: 'StreamBpttOp' });
export type BpttOp = z.infer<typeof BpttOp>;

export const CancelOp = z
  .strictObject({ op: z.literal('cancel'), id: OpId })
  .meta({ id: 'StreamCancelOp', description: 'stops the operation with this id; unknown or finished ids are ignored' });

export const SequenceOp = z
  .strictObject({
    op: z.literal('sequence'),
    id: OpId,
    modelId: z.string().min(1).max(128).meta({ description: 'a stored model (id or name)' }),
    sequenceId: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .meta({ description: 'the sequence_id, shared with /v2 infer; a fresh one when absent' }),
    start: z.boolean().default(true).meta({
      description:
        'false: the first feed continues a live sequence (e.g. one fed over /v2) instead of starting from zeros',
    }),
  })
  .meta({
    id: 'StreamSequenceOp',
    description: 'opens a stateful session: each feed frame with the same id runs from the state the last one left',
  });
export type SequenceOp = z.infer<typeof SequenceOp>;

export const FeedOp = z
  .strictObject({
    op: z.literal('feed'),
    id: OpId,
    x: ForwardInput.shape.x,
    include: ForwardInput.shape.include,
    end: z.boolean().optional().meta({ description: 'the last chunk: the session closes after its result' }),
  })
  .meta({ id: 'StreamFeedOp', description: 'more timesteps for the open session with this id' });
export type FeedOp = z.infer<typeof FeedOp>;

/** Everything a client may send on /v1/stream. */
export const StreamRequest = z
  .discriminatedUnion('op', [ForwardOp, BpttOp, CancelOp, SequenceOp, FeedOp])
  .meta({ id: 'StreamRequest' });
export type StreamRequest = z.infer<typeof StreamRequest>;
/** The one-shot ops, each with a handler in ws/stream-ops.ts (sessions are ws/stream-sequences.ts). */
export type StreamOpName = Exclude<StreamRequest['op'], 'cancel' | 'sequence' | 'feed'>;

const tag = { id: OpId.optional() };
const matrix = z.array(z.array(z.number()));

export const ForwardStepFrame = z.strictObject({
  event: z.literal('forward_step'),
  id: OpId,
  t: z.int(),
  h: matrix.meta({ description: '(B, H): h_t' }),
});
export const BackwardStepFrame = z.strictObject({
  event: z.literal('backward_step'),
  id: OpId,
  t: z.int(),
  dh: matrix.meta({ description: '(B, H): the total dL/dh_t' }),
  dhNorm: z.number().meta({ description: '‖dL/dh_t‖ over the batch and the hidden units' }),
});
/** The op's REST response (ForwardResponse or BpttResponse), byte for byte, with `event` and `id` added. */
export const ResultFrame = z
  .looseObject({ event: z.literal('result'), id: OpId })
  .meta({ description: 'the REST response of the op, plus event and id' });
export const ErrorFrame = Problem.extend({
  event: z.literal('error'),
  ...tag,
}).meta({ description: 'a problem+json body; without id when the frame it answers had none' });

export const SequenceOpenFrame = z.strictObject({
  event: z.literal('sequence_open'),
  id: OpId,
  modelId: z.string(),
  sequenceId: z.string(),
});
export const SequenceEndFrame = z.strictObject({
  event: z.literal('sequence_end'),
  id: OpId,
  sequenceId: z.string(),
  steps: z.int().meta({ description: 'timesteps this session fed' }),
  reason: z.enum(['end', 'cancelled']),
});

/** Everything the server sends on /v1/stream (a result is the REST response of its op). */
export const StreamFrame = z
  .discriminatedUnion('event', [
    ForwardStepFrame,
    BackwardStepFrame,
    ResultFrame,
    ErrorFrame,
    SequenceOpenFrame,
    SequenceEndFrame,
  ])
  .meta({ id: 'StreamFrame', description: 'every frame the server sends on /v1/stream' });
export type ForwardStepFrame = z.infer<typeof ForwardStepFrame>;
export type BackwardStepFrame = z.infer<typeof BackwardStepFrame>;
export type ErrorFrame = z.infer<typeof ErrorFrame>;
export type SequenceOpenFrame = z.infer<typeof SequenceOpenFrame>;
export type SequenceEndFrame = z.infer<typeof SequenceEndFrame>;
