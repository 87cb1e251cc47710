// Bodies and responses of the compute routes, inline (/v1/forward …) and on stored models (/v1/models/:id/forward …).
import { z } from 'zod';
import { JACOBIAN_KEYS } from '../core/jacobian.js';
import { InlineModel, type ModelConfig } from './model.js';
import type { Issue } from './problem.js';
import { indexTensor, type TensorData as Tensor, tensor, tensorOfRanks } from './tensor.js';

const x = tensor(3, '(B, T, d), batch first');
const h0 = tensor(2, '(B, H): the state before x_0; zeros when absent').optional();
const targets = indexTensor([1, 2], 'class indices: (B) for readout "last", (B, T) for "all"');
const truncate = z
  .int()
  .min(1)
  .optional()
  .meta({ description: 'truncated BPTT: each loss term reaches back through at most this many steps' });

/** The checks that need the config: widths, batch and time sizes, h0 and targets. */
export function batchIssues(config: ModelConfig, b: { x: Tensor; h0?: Tensor; targets?: Tensor }): Issue[] {
  const issues: Issue[] = [];
  const [B, T, d] = b.x.shape;
  const { inputSize, hiddenSize: H, outputSize: C, readout } = config;
  if (d !== inputSize)
    issues.push({
      path: ['x'],
      message: `x is (${b.x.shape.join(', ')}): its last dimension must be inputSize = ${inputSize}`,
    });
  if (b.h0 && (b.h0.shape[0] !== B || b.h0.shape[1] !== H))
    issues.push({ path: ['h0'], message: `h0 is (${b.h0.shape.join(', ')}), expected (B, H) = (${B}, ${H})` });
  if (b.targets) {
    const want = readout === 'all' ? [B, T] : [B];
    const got = b.targets.shape;
    if (got.length !== want.length || got.some((n, i) => n !== want[i])) {
      issues.push({
        path: ['targets'],
        message: `targets is (${got.join(', ')}), readout "${readout}" needs (${want.join(', ')})`,
      });
    } else {
      const bad = b.targets.data.findIndex((c) => c < 0 || c >= C);
      if (bad >= 0) {
        const path = readout === 'all' ? ['targets', Math.floor(bad / T), bad % T] : ['targets', bad];
        issues.push({ path, message: `class ${b.targets.data[bad]} is not in [0, ${C})` });
      }
    }
  }
  return issues;
}

function withModel<S extends z.ZodRawShape>(shape: S) {
  return z.strictObject({ model: InlineModel, ...shape }).superRefine((b, ctx) => {
    const body = b as unknown as { model: InlineModel; x: Tensor; h0?: Tensor; targets?: Tensor };
    for (const i of batchIssues(body.model.config, body)) ctx.addIssue({ code: 'custom', ...i });
  });
}

const forwardShape = {
  x,
  h0,
  include: z
    .array(z.enum(['h', 'logits']))
    .optional()
    .meta({ description: 'extra outputs: h (B, T, H), logits' }),
};
const bpttShape = {
  x,
  h0,
  targets,
  truncate,
  include: z
    .array(z.enum(['h', 'logits', 'dh', 'dx', 'dh0']))
    .optional()
    .meta({ description: 'extra outputs: dh (B, T, H), dx (B, T, d), dh0 (B, H), h, logits' }),
};
const jacobianShape = {
  x,
  h0,
  wrt: z.array(z.enum(JACOBIAN_KEYS)).min(1).meta({ description: 'the weights to differentiate h_t by' }),
};
const gradcheckShape = {
  x,
  h0,
  targets,
  eps: z.number().positive().max(0.1).optional().meta({ description: 'central-difference step (default 1e-6)' }),
};

export const ForwardInput = z.strictObject(forwardShape).meta({ id: 'ForwardInput' });
export const BpttInput = z.strictObject(bpttShape).meta({ id: 'BpttInput' });
export const JacobianInput = z.strictObject(jacobianShape).meta({ id: 'JacobianInput' });
export const GradcheckInput = z.strictObject(gradcheckShape).meta({ id: 'GradcheckInput' });
export const ForwardBody = withModel(forwardShape).meta({ id: 'ForwardBody' });
export const BpttBody = withModel(bpttShape).meta({ id: 'BpttBody' });
export const JacobianBody = withModel(jacobianShape).meta({ id: 'JacobianBody' });
export const GradcheckBody = withModel(gradcheckShape).meta({ id: 'GradcheckBody' });
export type ForwardInput = z.infer<typeof ForwardInput>;
export type BpttInput = z.infer<typeof BpttInput>;
export type JacobianInput = z.infer<typeof JacobianInput>;
export type GradcheckInput = z.infer<typeof GradcheckInput>;

const out = (rank: number, what: string) => tensor(rank, what);
const grads = z.strictObject({
  'U.weight': out(2, '(H, d)'),
  'W.weight': out(2, '(H, H)'),
  'W.bias': out(1, '(H)'),
  'V.weight': out(2, '(C, H)'),
  'V.bias': out(1, '(C)'),
});
const yOut = tensorOfRanks([2, 3], '(B, C) for readout "last", (B, T, C) for readout "all"');

export const ForwardResponse = z
  .strictObject({
    y: yOut,
    hT: out(2, '(B, H)'),
    h: out(3, '(B, T, H)').optional(),
    logits: yOut.optional(),
  })
  .meta({ id: 'ForwardResponse' });

export const BpttResponse = z
  .strictObject({
    loss: z.number().meta({ description: 'mean cross-entropy over every prediction' }),
    y: yOut,
    hT: out(2, '(B, H)'),
    grads: grads.meta({ description: 'dloss/dθ for each weight' }),
    h: out(3, '(B, T, H)').optional(),
    logits: yOut.optional(),
    dh: out(3, '(B, T, H): total dloss/dh_t').optional(),
    dx: out(3, '(B, T, d)').optional(),
    dh0: out(2, '(B, H)').optional(),
  })
  .meta({ id: 'BpttResponse' });

export const JacobianResponse = z
  .strictObject({
    jacobian: z.partialRecord(
      z.enum(JACOBIAN_KEYS),
      tensorOfRanks([5, 4], '(B, T, H, ...shape of the weight): (B, T, H, H, d), (B, T, H, H, H) or (B, T, H, H)'),
    ),
  })
  .meta({ id: 'JacobianResponse' });

const tensorCheck = z.strictObject({ maxAbsError: z.number(), maxRelError: z.number(), ok: z.boolean() });
export const GradcheckResponse = z
  .strictObject({
    ok: z.boolean(),
    maxRelError: z.number(),
    maxAbsError: z.number(),
    eps: z.number(),
    atol: z.number(),
    rtol: z.number(),
    tensors: z.strictObject({
      'U.weight': tensorCheck,
      'W.weight': tensorCheck,
      'W.bias': tensorCheck,
      'V.weight': tensorCheck,
      'V.bias': tensorCheck,
    }),
  })
  .meta({ id: 'GradcheckResponse' });
