// POST /v1/trace: a tiny model's unrolled computation as a Wengert list and as Graphviz DOT.
import { z } from 'zod';
import { TRACE_OPS } from '../core/trace.js';
import { batchIssues } from './compute.js';
import { InlineModel } from './model.js';
import { indexTensor, type TensorData, tensor } from './tensor.js';

/** Every size (B, d, H, C) at most 4 and T at most 6: the list stays readable (and at most ~1,200 nodes). */
export const TRACE_LIMITS = { size: 4, steps: 6 };

const index = (what: string) => z.int().min(0).meta({ description: what });
export const TraceSeed = z
  .discriminatedUnion('output', [
    z.strictObject({
      output: z.literal('h'),
      t: index('the step; default T − 1').optional(),
      b: index('the sequence; default 0').default(0),
      i: index('the hidden unit; default 0').default(0),
    }),
    z.strictObject({ output: z.literal('loss') }),
  ])
  .meta({ description: 'where the reverse sweep starts with adjoint 1: h_t[b, i], or the loss (needs targets)' });

export const TraceBody = z
  .strictObject({
    model: InlineModel,
    x: tensor(3, '(B, T, d)'),
    h0: tensor(2, '(B, H); absent: zeros, and the products W·h_{−1} are left out as in the sheet').optional(),
    targets: indexTensor([1, 2], '(B) for readout "last", (B, T) for "all"; needed to seed at the loss').optional(),
    seed: TraceSeed.optional(),
  })
  .superRefine((body, ctx) => {
    const c = body.model.config;
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    for (const k of ['inputSize', 'hiddenSize', 'outputSize'] as const)
      if (c[k] > TRACE_LIMITS.size)
        issue(['model', 'config', k], `a trace is for tiny models: ${k} ≤ ${TRACE_LIMITS.size}`);
    const [B, T] = body.x.shape;
    if (B > TRACE_LIMITS.size) issue(['x'], `a trace is for tiny batches: B ≤ ${TRACE_LIMITS.size}, got ${B}`);
    if (T > TRACE_LIMITS.steps) issue(['x'], `a trace is for short sequences: T ≤ ${TRACE_LIMITS.steps}, got ${T}`);
    for (const i of batchIssues(c, body as { x: TensorData; h0?: TensorData; targets?: TensorData }))
      issue(i.path, i.message);
    const seed = body.seed;
    if (seed?.output === 'loss' && !body.targets) issue(['targets'], 'a loss seed needs targets');
    if (seed?.output === 'h') {
      if (seed.t !== undefined && seed.t >= T) issue(['seed', 't'], `t must be < T = ${T}`);
      if (seed.b >= B) issue(['seed', 'b'], `b must be < B = ${B}`);
      if (seed.i >= c.hiddenSize) issue(['seed', 'i'], `i must be < H = ${c.hiddenSize}`);
    }
  })
  .meta({ id: 'TraceBody' });
export type TraceBody = z.infer<typeof TraceBody>;

const grad = (what: string, rank: number) => tensor(rank, what);
export const TraceResponse = z
  .strictObject({
    seed: z.union([
      z.strictObject({ output: z.literal('h'), b: z.int(), t: z.int(), i: z.int() }),
      z.strictObject({ output: z.literal('loss') }),
    ]),
    output: z.string().meta({ description: 'the seeded node, e.g. "w_10"' }),
    value: z.number().meta({ description: 'its value: h_t[b, i] or the loss' }),
    nodes: z.array(
      z.strictObject({
        id: z.string().meta({ description: 'w_1, w_2, … in the order of the forward pass' }),
        op: z.enum(TRACE_OPS),
        inputs: z.array(z.string()),
        name: z.string().optional().meta({ description: 'what the node is: x_0, U, h_1, z[c], loss…' }),
        expr: z.string().meta({ description: 'the line as Exercise 3 writes it: "w_4 = tanh(w_3) = h_0"' }),
        value: z.number().meta({ description: 'forward value' }),
        adjoint: z.number().meta({ description: 'd output / d node, after the reverse sweep' }),
      }),
    ),
    grads: z
      .strictObject({
        'U.weight': grad('(H, d)', 2),
        'W.weight': grad('(H, H)', 2),
        'W.bias': grad('(H)', 1),
        'V.weight': grad('(C, H)', 2),
        'V.bias': grad('(C)', 1),
      })
      .meta({ description: 'd output / d weight: the adjoints of the parameter leaves, in the weights’ shapes' }),
    dot: z.string().meta({ description: 'the same graph in Graphviz DOT (dot -Tsvg)' }),
  })
  .meta({ id: 'TraceResponse' });
