// Training runs: the POST /v1/runs body, a run as GET returns it, and the event frames its WebSocket sends.
import { z } from 'zod';
import { InlineModel, ModelConfig } from './model.js';
import { TASK_NAMES } from './names.js';
import { indexTensor, tensor } from './tensor.js';

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const FINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];

const positive = (what: string) => z.number().positive().meta({ description: what });
const fraction = (what: string) => z.number().min(0).max(1).meta({ description: what });
const nonNegative = (what: string) => z.number().min(0).meta({ description: what });
const betas = z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]);

/** torch.optim's options, by optimizer; "momentum" is SGD with momentum 0.9 unless given. */
export const OptimizerBody = z
  .discriminatedUnion('name', [
    z.strictObject({
      name: z.literal('sgd'),
      lr: positive('learning rate'),
      momentum: fraction('default 0').optional(),
      dampening: fraction('default 0').optional(),
      nesterov: z.boolean().optional(),
      weightDecay: nonNegative('L2 penalty, default 0').optional(),
    }),
    z.strictObject({
      name: z.literal('momentum'),
      lr: positive('learning rate'),
      momentum: fraction('default 0.9').optional(),
      dampening: fraction('default 0').optional(),
      nesterov: z.boolean().optional(),
      weightDecay: nonNegative('L2 penalty, default 0').optional(),
    }),
    z.strictObject({
      name: z.literal('adam'),
      lr: positive('learning rate, default 1e-3').optional(),
      betas: betas.optional().meta({ description: 'default [0.9, 0.999]' }),
      eps: positive('default 1e-8').optional(),
      weightDecay: nonNegative('L2 penalty added to the gradient (torch.optim.Adam, not AdamW), default 0').optional(),
      amsgrad: z.boolean().optional(),
    }),
  ])
  .meta({ id: 'Optimizer' });
export type OptimizerBody = z.infer<typeof OptimizerBody>;

export const TaskBody = z
  .strictObject({
    name: z.enum(TASK_NAMES),
    length: z.int().min(1).max(10_000).optional().meta({ description: 'T, the sequence length (task default)' }),
    symbols: z.int().min(2).max(1024).optional().meta({ description: 'K, the alphabet of copy-first (default 4)' }),
  })
  .meta({ id: 'Task' });

/** A task's sizes: T, and K for copy-first (the other tasks ignore it). */
export const TaskParams = z.strictObject({
  length: z.int().meta({ description: 'T, the sequence length' }),
  symbols: z.int().meta({ description: 'K, the alphabet of copy-first (one-hot inputs, K classes)' }),
});
export type TaskParams = z.infer<typeof TaskParams>;

/**
 * A run's request resolved, every default filled in: what is stored with the run and what its worker
 * trains (with the initial weights and the data). Internal, not on the wire; db and training share it.
 */
export const RunSpec = z.strictObject({
  config: ModelConfig,
  source: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('task'), name: z.enum(TASK_NAMES), params: TaskParams }),
    z.strictObject({ kind: z.literal('data'), N: z.int(), T: z.int() }),
  ]),
  optimizer: OptimizerBody,
  steps: z.int(),
  batchSize: z.int(),
  clipNorm: z.number().optional(),
  truncate: z.int().optional(),
  seed: z.int(),
  hiddenEvery: z.int(),
});
export type RunSpec = z.infer<typeof RunSpec>;

export const RunData = z
  .strictObject({
    x: tensor(3, '(N, T, d): the training sequences'),
    targets: indexTensor([1, 2], 'class indices: (N) for readout "last", (N, T) for "all"'),
  })
  .meta({ id: 'RunData' });

export const CreateRunBody = z
  .strictObject({
    model: InlineModel.optional(),
    modelId: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .meta({ description: 'a stored model to start from (its weights are copied)' }),
    data: RunData.optional(),
    task: TaskBody.optional(),
    optimizer: OptimizerBody.optional().meta({ description: 'default: the task default, or adam with lr 1e-3' }),
    steps: z.int().min(1).optional().meta({ description: 'optimizer steps (task default, or 1000)' }),
    batchSize: z.int().min(1).max(65_536).optional().meta({ description: 'sequences per step (task default, or 32)' }),
    clipNorm: z
      .number()
      .positive()
      .optional()
      .meta({ description: 'clip_grad_norm_ max_norm; gradNorm is reported before it' }),
    truncate: z.int().min(1).optional().meta({ description: 'truncated BPTT window k' }),
    seed: z
      .int()
      .min(0)
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .meta({ description: 'seeds batches, probe and init (default 0)' }),
    hiddenEvery: z.int().min(1).optional().meta({ description: 'a hidden snapshot of the probe every N steps' }),
    name: z.string().max(200).optional().meta({ description: 'a label for people' }),
  })
  .superRefine((b, ctx) => {
    if (b.model && b.modelId)
      ctx.addIssue({ code: 'custom', path: ['modelId'], message: 'give model or modelId, not both' });
    if ((b.data === undefined) === (b.task === undefined))
      ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of data or task' });
    if (b.data && !b.model && !b.modelId)
      ctx.addIssue({ code: 'custom', path: ['model'], message: 'training on data needs a model or a modelId' });
  })
  .meta({ id: 'CreateRunBody' });
export type CreateRunBody = z.infer<typeof CreateRunBody>;

const Metrics = z.strictObject({
  loss: z.number().nullable().meta({ description: 'the latest step’s batch loss' }),
  accuracy: z.number().nullable().meta({ description: 'the latest step’s batch accuracy' }),
});

/** A finished run's score: a task's held-out set, or the whole inline data. */
export const Evaluation = z.strictObject({ loss: z.number(), accuracy: z.number(), size: z.int() });
export type Evaluation = z.infer<typeof Evaluation>;

export const Run = z
  .strictObject({
    id: z.string(),
    name: z.string().nullable(),
    status: z.enum(RUN_STATUSES),
    step: z.int().meta({ description: 'steps completed' }),
    steps: z.int(),
    metrics: Metrics,
    evaluation: Evaluation.nullable().meta({
      description: 'once succeeded: a held-out set of a task, or the whole inline data',
    }),
    modelId: z.string().nullable().meta({ description: 'the trained weights, stored as a model, once succeeded' }),
    reason: z.string().nullable().meta({ description: 'why it failed or was cancelled' }),
    task: z.string().nullable(),
    config: ModelConfig.meta({ description: 'the network it trains (the dashboard draws it)' }),
    length: z.int().meta({ description: 'T, the length of its sequences' }),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'Run' });
export type Run = z.infer<typeof Run>;

export const RunList = z.strictObject({ runs: z.array(Run), total: z.int() }).meta({ id: 'RunList' });
export const RunCreated = z.strictObject({ id: z.string(), status: z.literal('queued') }).meta({ id: 'RunCreated' });
export const RunParams = z.strictObject({ id: z.string().min(1).max(128) });
export type RunParams = z.infer<typeof RunParams>;
export const RunListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  status: z.enum(RUN_STATUSES).optional(),
});
/** Not strict: browsers pass their token as ?access_token= on a WebSocket. */
export const EventsQuery = z.object({
  since: z.coerce
    .number()
    .int()
    .min(-1)
    .optional()
    .meta({ description: 'replay events of steps after this one (the last step a client saw); all when absent' }),
});
export type EventsQuery = z.infer<typeof EventsQuery>;

const skipped = z
  .int()
  .min(1)
  .optional()
  .meta({ description: 'frames of this kind dropped just before this one, because the client read too slowly' });

export const StepFrame = z.strictObject({
  event: z.literal('step'),
  step: z.int().meta({ description: '0-based: the step measured at the weights after `step` updates' }),
  loss: z.number(),
  accuracy: z.number(),
  gradNorm: z.record(z.string(), z.number()).meta({ description: '‖dL/dθ‖ per weight, before clipping' }),
  dhNorm: z.array(z.number()).meta({ description: '‖dL/dh_t‖ for t = 0..T−1' }),
  skipped,
});
export type StepFrame = z.infer<typeof StepFrame>;

export const HiddenFrame = z.strictObject({
  event: z.literal('hidden'),
  step: z.int(),
  h: z.array(z.array(z.number())).meta({ description: '(T, H): the probe sequence’s h_t at this step’s weights' }),
  skipped,
});
export type HiddenFrame = z.infer<typeof HiddenFrame>;

export const StatusFrame = z.strictObject({
  event: z.literal('status'),
  status: z.enum(RUN_STATUSES),
  step: z.int(),
  reason: z.string().optional(),
  modelId: z.string().optional(),
});
export type StatusFrame = z.infer<typeof StatusFrame>;

/** Everything GET /v1/runs/:id/events sends. */
export const RunEventFrame = z
  .discriminatedUnion('event', [StepFrame, HiddenFrame, StatusFrame])
  .meta({ id: 'RunEvent', description: 'every frame the server sends on /v1/runs/:id/events' });
export type RunEventFrame = z.infer<typeof RunEventFrame>;

export const TaskList = z
  .strictObject({
    tasks: z.array(
      z.strictObject({
        name: z.enum(TASK_NAMES),
        description: z.string(),
        defaults: z.looseObject({ accuracy: z.number().meta({ description: 'held-out accuracy the defaults reach' }) }),
      }),
    ),
  })
  .meta({ id: 'TaskList' });
