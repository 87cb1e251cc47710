// Bodies and responses of the compute routes, inline (/v1/forward …) and on stored models (/v1/models/:id/forward …).
import { z } from 'zod';
import { JACOBIAN_KEYS } from '../core/jacobian.js';
import { InlineModel, type ModelConfig, setMessage } from './model.js';
import type { Issue } from './problem.js';
import { fmtShape, indexTensor, type TensorData as Tensor, tensor, tensorOfRanks } from './tensor.js';

/** What to ask about an x of the wrong rank; `d` when the config is known. */
export function xHint(received: readonly number[], d?: number): string | undefined {
  const last = received[received.length - 1];
  if (received.length === 2) {
    if (d === undefined) return 'is the batch axis missing (or, when d = 1, the last one)?';
    if (last === d) return 'is the batch axis missing?';
    if (d === 1) return 'with d = 1 each x_t is still a list, [[[x_0], [x_1], …]]: is the last axis missing?';
    return undefined;
  }
  if (received.length === 1)
    return d !== undefined && last === d
      ? 'is this one x_t? a batch of one sequence of one step is [[x_0]]'
      : 'x is batch first, a list of sequences of x_t, each a list of d numbers';
  if (received.length > 3) return 'is there an extra axis?';
  return undefined;
}

const x = tensor(3, '(B, T, d), batch first', { name: 'x', hint: (r) => xHint(r) });
const h0 = tensor(2, '(B, H): the state before x_0; zeros when absent', {
  name: 'h0',
  hint: (r) => (r.length === 1 ? 'is the batch axis missing?' : undefined),
}).optional();
const targets = indexTensor([1, 2], 'class indices: (B) for readout "last", (B, T) for "all"', { name: 'targets' });

const dimsWith = (c: ModelConfig) => `d = ${c.inputSize}`;
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
  if (d !== inputSize) {
    const swapped = T === inputSize ? ': are T and d swapped?' : '';
    issues.push({
      path: ['x'],
      message: `x is ${fmtShape(b.x.shape)}; expected (B, T, d) with ${dimsWith(config)}${swapped}`,
    });
  }
  if (b.h0 && (b.h0.shape[0] !== B || b.h0.shape[1] !== H))
    issues.push({
      path: ['h0'],
      message: `h0 is ${fmtShape(b.h0.shape)}; expected (B, H) with B = ${B} (as x) and H = ${H}`,
    });
  if (b.targets) {
    const want = readout === 'all' ? [B, T] : [B];
    const got = b.targets.shape;
    if (got.length !== want.length || got.some((n, i) => n !== want[i])) {
      issues.push({
        path: ['targets'],
        message: `targets is ${fmtShape(got)}; expected ${readout === 'all' ? `(B, T) with B = ${B}, T = ${T}` : `(B) with B = ${B}`} for readout "${readout}": one class index per ${readout === 'all' ? 'step' : 'sequence'}`,
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

/** With the config at hand, an x of the wrong rank gets the question that fits its d. */
export function refineXIssues(config: ModelConfig | undefined, ctx: z.RefinementCtx, at: (string | number)[] = ['x']) {
  if (!config || typeof config.inputSize !== 'number') return;
  for (const i of ctx.issues) {
    const received = (i as { params?: { received?: number[] } }).params?.received;
    if (!received || i.path?.[0] !== at[0]) continue;
    const hint = xHint(received, config.inputSize);
    setMessage(i, `x is ${fmtShape(received)}; expected (B, T, d) with ${dimsWith(config)}${hint ? `: ${hint}` : ''}`);
  }
}

function withModel<S extends z.ZodRawShape>(shape: S) {
  return z.strictObject({ model: InlineModel, ...shape }).superRefine(
    (b, ctx) => {
      if (typeof b !== 'object' || b === null) return;
      const body = b as unknown as { model?: InlineModel; x?: Tensor; h0?: Tensor; targets?: Tensor };
      const config = ctx.issues.some((i) => i.path?.[0] === 'model' && i.path?.[1] === 'config')
        ? undefined
        : body.model?.config;
      refineXIssues(config, ctx);
      const strays = ctx.issues.flatMap((i) => (i.code === 'unrecognized_keys' && !i.path?.length ? i.keys : []));
      const missing = ctx.issues.find((i) => i.path?.length === 1 && i.path[0] === 'model' && body.model === undefined);
      if (missing && strays.some((k) => k === 'config' || k === 'weights' || k === 'init'))
        setMessage(
          missing,
          'model is missing: config and weights (or init) go inside it, {"model": {"config", "weights"}, "x"}',
        );
      if (ctx.issues.length || !config || !body.x) return;
      for (const i of batchIssues(config, body as { x: Tensor })) ctx.addIssue({ code: 'custom', ...i });
    },
    { when: () => true },
  );
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
