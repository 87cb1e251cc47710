// The mistake catalogue: each classic error, what it is, one sentence a student can act on, and the one
// small function that recomputes a quantity as a student making that error would. Order matters: the
// first entry whose value matches a wrong answer names it (grade.ts checks the correct answer first).
import type { ElmanConfig, Params } from '../core/model.js';
import { type Problem, predictions, type Quantity, type Solution, type Value } from './quantities.js';
import { naiveBptt, naiveJacobian } from './variants.js';

export interface MistakeContext {
  readonly problem: Problem;
  readonly truth: Solution;
  /** The problem as `change` makes it, solved once per submission under `key` (optionally with truncated BPTT). */
  under(key: string, change: (p: Problem) => Problem, truncate?: number): Solution;
  /** Any other per-submission value, computed once under `key`. */
  memo<T>(key: string, compute: () => T): T;
}

export interface Mistake {
  readonly id: string;
  /** What the mistake is, as a noun phrase. */
  readonly description: string;
  /** One sentence the student can act on. */
  readonly advice: string;
  /** The equation the student's numbers follow instead of the sheet's, named after the sheet where it can be. */
  readonly equation: string;
  applies(q: Quantity, p: Problem): boolean;
  /** The quantity as the mistake computes it (a few variants where the mistake has several forms). */
  compute(ctx: MistakeContext, q: Quantity): Value[];
}

const GRADS = (q: Quantity) => q.startsWith('grads.');
const JAC = (q: Quantity) => q.startsWith('jacobian.');
const BACKWARD = (q: Quantity) => GRADS(q) || q === 'dh' || q === 'dx' || q === 'dh0';
const MODEL = (q: Quantity) => q !== 'y.shape';
/** What a readout of the wrong state changes: the outputs and everything computed from them. */
const READOUT = (q: Quantity) => q === 'y' || q === 'logits' || q === 'hT' || q === 'loss' || GRADS(q);

const map = (v: Value, f: (x: number, i: number) => number): Value => ({ data: v.data.map(f), shape: v.shape });
const withConfig = (p: Problem, c: Partial<ElmanConfig>): Problem => ({
  ...p,
  model: { config: { ...p.model.config, ...c }, params: p.model.params },
});
const withParams = (p: Problem, c: Partial<Params>): Problem => ({
  ...p,
  model: { config: p.model.config, params: { ...p.model.params, ...c } },
});
/** The problem cut to its first k steps (readout "last" only: the targets do not depend on T). */
function firstSteps(p: Problem, k: number): Problem {
  const d = p.model.config.inputSize;
  const x = new Float64Array(p.B * k * d);
  for (let b = 0; b < p.B; b++) x.set(p.x.subarray(b * p.T * d, (b * p.T + k) * d), b * k * d);
  return { ...p, x, T: k };
}
const nonzero = (a: Float64Array) => a.some((v) => v !== 0);

export const MISTAKES: readonly Mistake[] = [
  {
    id: 'sign-error',
    description: 'the gradient with the opposite sign',
    advice:
      'Check the sign of each term you propagate: every value has the right size but the wrong sign (for the loss, dloss/dlogits = softmax − onehot, not onehot − softmax).',
    equation: '−∂L/∂θ, each term propagated with its sign flipped (∂L/∂logits = onehot − softmax), instead of ∂L/∂θ',
    applies: (q) => BACKWARD(q) || JAC(q),
    compute: (ctx, q) => [map(ctx.truth.value(q), (v) => -v)],
  },
  {
    id: 'sum-instead-of-mean',
    description: 'the loss summed over the predictions instead of averaged',
    advice:
      'Divide by the number of predictions (B, or B·T with a readout at every step): F.cross_entropy averages by default, and every gradient scales with the loss.',
    equation:
      "L = Σ_b CE(y_b, target_b), the sum over the predictions, instead of F.cross_entropy's mean (1/B) Σ_b CE(y_b, target_b)",
    applies: (q, p) => (q === 'loss' || BACKWARD(q)) && predictions(p) > 1,
    compute: (ctx, q) => [map(ctx.truth.value(q), (v) => v * predictions(ctx.problem))],
  },
  {
    id: 'transposed-gradient',
    description: 'the gradient of a weight matrix transposed',
    advice:
      'Transpose it: a gradient has the layout of its weight, rows for outputs and columns for inputs, as in dW[i][j] = Σ_t da_t[i]·h_{t−1}[j].',
    equation: 'dW[j][i] = Σ_t da_t[i]·h_{t−1}[j], the transpose of dW[i][j]',
    applies: (q, p) => GRADS(q) && q.endsWith('.weight') && square(weightShape(p, q)),
    compute: (ctx, q) => {
      const v = ctx.truth.value(q);
      const [n] = v.shape;
      return [map(v, (_, i) => v.data[(i % n) * n + Math.floor(i / n)])];
    },
  },
  {
    id: 'logits-not-probabilities',
    description: 'the logits given instead of the probabilities',
    advice: 'Apply softmax over the classes to the logits V h + b_V: y holds probabilities, so each row sums to 1.',
    equation: "y = V h_{T−1} + b_V, without Exercise 1's softmax (y_t = softmax(V h_t))",
    applies: (q) => q === 'y',
    compute: (ctx) => [ctx.truth.value('logits')],
  },
  {
    id: 'softmax-wrong-axis',
    description: 'the softmax taken over the batch axis instead of the classes',
    advice:
      'Take the softmax over the last axis (dim=-1, the classes), not dim 0: each example’s probabilities sum to 1.',
    equation: 'y = softmax(V h + b_V, dim = 0), over the batch instead of the classes',
    applies: (q, p) => q === 'y' && p.B > 1,
    compute: (ctx) => [softmaxOverBatch(ctx.truth.value('logits'))],
  },
  {
    id: 'relu-instead-of-tanh',
    description: 'relu used as the activation instead of tanh',
    advice:
      'Use h_t = tanh(U x_t + W h_{t−1} + b_W), and 1 − h_t² on the way back: the sheet’s myRNN calls torch.relu, but this model uses tanh.',
    equation:
      "h_t = relu(U x_t + W h_{t−1} + b_W), the sheet's myRNN line h = torch.relu(…), instead of Exercise 1's h_t = tanh(U x_t + W h_{t−1})",
    applies: (q, p) => MODEL(q) && p.model.config.activation === 'tanh',
    compute: (ctx, q) => [ctx.under('relu', (p) => withConfig(p, { activation: 'relu' })).value(q)],
  },
  {
    id: 'no-recurrence',
    description: 'the recurrence dropped: h_t computed without W h_{t−1}',
    advice:
      'Feed the state back: step t computes act(U x_t + W h_{t−1} + b_W) from the h_{t−1} of the step before, not from zeros.',
    equation: "h_t = tanh(U x_t + b_W), with no W h_{t−1}, instead of Exercise 1's h_t = tanh(U x_t + W h_{t−1})",
    applies: (q, p) => MODEL(q) && p.T > 1,
    compute: (ctx, q) => [
      ctx.under('no-recurrence', (p) => withParams(p, { W: new Float64Array(p.model.params.W.length) })).value(q),
    ],
  },
  {
    id: 'missing-bias',
    description: 'a bias left out (b_W in the cell, or b_V in the readout)',
    advice:
      'Add the biases: W.bias enters every step (U x_t + W h_{t−1} + b_W) and V.bias the readout (V h + b_V), as nn.Linear adds them.',
    equation:
      "Exercise 1's h_t = tanh(U x_t + W h_{t−1}) and y_t = softmax(V h_t) taken literally, without the biases nn.Linear adds (W.bias, V.bias)",
    applies: (q, p) => MODEL(q) && (nonzero(p.model.params.bW) || nonzero(p.model.params.bV)),
    compute: (ctx, q) => {
      const { bW, bV } = ctx.problem.model.params;
      const noW = { bW: new Float64Array(bW.length) };
      const noV = { bV: new Float64Array(bV.length) };
      const forms: [string, Partial<Params>][] = [['no-biases', { ...noW, ...noV }]];
      if (nonzero(bW) && nonzero(bV)) forms.push(['no-bW', noW], ['no-bV', noV]);
      return forms.map(([key, change]) => ctx.under(key, (p) => withParams(p, change)).value(q));
    },
  },
  {
    id: 'first-step-readout',
    description: 'the readout of the first state h_0 instead of the last',
    advice: 'Read out the state after the last step, h_{T−1} (the h left when the loop over t ends), not h_0.',
    equation:
      "y = softmax(V h_0), the readout of the first step, instead of Exercise 1's y_2 = softmax(V h_2) at the last step",
    applies: (q, p) => READOUT(q) && p.model.config.readout === 'last' && p.T > 1,
    compute: (ctx, q) => [ctx.under('first-step', (p) => firstSteps(p, 1)).value(q)],
  },
  {
    id: 'wrong-sequence-length',
    description: 'the loop run over x.size(-1) = d steps instead of T',
    advice: 'Loop over the time axis, T = x.size(1); x.size(-1) is the input width d (the sheet’s myRNN has this bug).',
    equation:
      "Exercise 2's myRNN loop for t in range(T) with T = x.size(-1) = d, so y = softmax(V h_{d−1}) instead of softmax(V h_{T−1})",
    applies: (q, p) => READOUT(q) && p.model.config.readout === 'last' && p.model.config.inputSize < p.T,
    compute: (ctx, q) => [ctx.under('d-steps', (p) => firstSteps(p, p.model.config.inputSize)).value(q)],
  },
  {
    id: 'gradient-one-step',
    description: 'the gradient through one step only: the W dh_{t−1} term forgotten',
    advice:
      'Keep the recurrent term: dh_t/dU = (1 − h_t²)(x_t + W dh_{t−1}/dU), so each step’s gradient also flows back through W to every earlier step.',
    equation:
      "dh_t/dU = (1 − h_t²) x_t, Exercise 3's first step dh_0/dU = (1 − h_0²) x_0 at every t, instead of its generalisation dh_t/dU = (1 − h_t²)(x_t + W dh_{t−1}/dU)",
    applies: (q, p) => (BACKWARD(q) || JAC(q)) && p.T > 1,
    compute: (ctx, q) => {
      if (!JAC(q)) return [ctx.under('one-step', (p) => p, 1).value(q)];
      const key = jacobianKey(q);
      return [
        { data: naiveJacobian(ctx.problem, key, { recurse: false, actDerivative: true }), shape: shapeOf(ctx, q) },
      ];
    },
  },
  {
    id: 'missing-activation-derivative',
    description: 'the derivative of the activation left out of the backward pass',
    advice:
      'Multiply by the activation’s derivative at every step, (1 − h_t²) for tanh, before passing the gradient on.',
    equation: "dh_t/dU = x_t + W dh_{t−1}/dU, Exercise 3's recursion without its factor (1 − h_t²)",
    applies: (q) => BACKWARD(q) || JAC(q),
    compute: (ctx, q) => {
      const shape = shapeOf(ctx, q);
      if (JAC(q))
        return [{ data: naiveJacobian(ctx.problem, jacobianKey(q), { recurse: true, actDerivative: false }), shape }];
      const r = ctx.memo('no-act-derivative', () => naiveBptt(ctx.problem, { actDerivative: false }));
      const data = GRADS(q) ? r.grads[PARAM[q as keyof typeof PARAM]] : r[q as 'dh' | 'dx' | 'dh0'];
      return [{ data, shape }];
    },
  },
];

const PARAM = {
  'grads.U.weight': 'U',
  'grads.W.weight': 'W',
  'grads.W.bias': 'bW',
  'grads.V.weight': 'V',
  'grads.V.bias': 'bV',
} as const;

const jacobianKey = (q: Quantity) => q.slice('jacobian.'.length) as 'U.weight' | 'W.weight' | 'W.bias';
const shapeOf = (ctx: MistakeContext, q: Quantity) => ctx.truth.value(q).shape;

/** The shape of a weight gradient, from the config alone (applies() runs before anything is computed). */
function weightShape(p: Problem, q: Quantity): number[] {
  const { inputSize: d, hiddenSize: H, outputSize: C } = p.model.config;
  return q === 'grads.U.weight' ? [H, d] : q === 'grads.V.weight' ? [C, H] : [H, H];
}
const square = (s: number[]) => s.length === 2 && s[0] === s[1] && s[0] > 1;

/** softmax(logits, dim=0): the probabilities of each class over the batch. */
function softmaxOverBatch(logits: Value): Value {
  const [B] = logits.shape;
  const stride = logits.data.length / B;
  const y = new Float64Array(logits.data.length);
  for (let j = 0; j < stride; j++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let b = 0; b < B; b++) max = Math.max(max, logits.data[b * stride + j]);
    let sum = 0;
    for (let b = 0; b < B; b++) {
      y[b * stride + j] = Math.exp(logits.data[b * stride + j] - max);
      sum += y[b * stride + j];
    }
    for (let b = 0; b < B; b++) y[b * stride + j] /= sum;
  }
  return { data: y, shape: logits.shape };
}

/** The confusions a wrong y.shape answer shows (Exercise 2's out.size() = (5, 3) = (B, nb-class)). */
export const SHAPE_MISTAKES: readonly (Pick<Mistake, 'id' | 'description' | 'advice' | 'equation'> & {
  matches(answer: number[], truth: number[], p: Problem): boolean;
})[] = [
  {
    id: 'transposed-output-shape',
    description: 'the output shape with its axes swapped',
    equation: `y of shape (C, B), one row per class, instead of Exercise 2's out.size() = (B, nb-class)`,
    advice:
      'y is batch first: one row per sequence (B), one column per class (C), so out.size() is (B, C); check the order of the axes you read.',
    matches: (a, t) => a.length === t.length && a.length > 1 && a.every((v, i) => v === t[t.length - 1 - i]),
  },
  {
    id: 'hidden-shape-for-output',
    description: 'the shape of the hidden state given for the output',
    equation: 'y of shape (B, H), the shape of h_t, instead of softmax(V h_t) of shape (B, C)',
    advice: 'V maps the H hidden units to the C classes: y has one column per class, not per hidden unit.',
    matches: (a, t, p) => a.length === t.length && a[a.length - 1] === p.model.config.hiddenSize && a[0] === t[0],
  },
  {
    id: 'output-per-step-shape',
    description: 'the shape of a readout at every step given for a readout of the last step',
    equation: 'y of shape (B, T, C), one prediction per step, instead of softmax(V h_{T−1}) of shape (B, C)',
    advice: 'This model reads out only the last state h_{T−1}: one prediction per sequence, so y is (B, C).',
    matches: (a, t, p) => t.length === 2 && a.length === 3 && a[0] === t[0] && a[1] === p.T && a[2] === t[1],
  },
];

export const MISTAKE_IDS = [...MISTAKES.map((m) => m.id), ...SHAPE_MISTAKES.map((m) => m.id)];
