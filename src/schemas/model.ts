// The model on the wire: config, and weights as a state_dict (the sheet's myRNN, or torch.nn.RNN plus an
// nn.Linear head, see state-dict.ts), or a seed to draw them from.
import { z } from 'zod';
import { WEIGHT_KEYS, type WeightKey, weightShapes } from '../core/model.js';
import { toNested } from '../core/tensor.js';
import type { Issue } from './problem.js';
import { type DecodedWeights, decodeStateDict } from './state-dict.js';
import { fmtShape, nestedJsonSchema, type TensorData, tensor } from './tensor.js';

const size = (what: string) => z.int().min(1).max(1_000_000).meta({ description: what });
const Activation = z.enum(['tanh', 'relu']);
const Readout = z
  .enum(['last', 'all'])
  .meta({ description: '"last": one prediction per sequence (B, C); "all": one per step (B, T, C)' });

const configShape = {
  inputSize: size('d, the width of each x_t'),
  hiddenSize: size('H, the width of h_t'),
  outputSize: size('C, the number of classes'),
};
const MISSING_CONFIG =
  'config is missing: weights need their config {"inputSize": d, "hiddenSize": H, "outputSize": C}';

/** The config as sent: `nonlinearity` (torch.nn.RNN's name) may stand for `activation`. */
const ModelConfigIn = z.strictObject(
  {
    ...configShape,
    activation: Activation.optional().meta({ description: 'tanh (the default) or relu' }),
    nonlinearity: Activation.optional().meta({
      description: "torch.nn.RNN's name for activation: give either (both only when they agree)",
    }),
    readout: Readout.default('last'),
  },
  { error: (iss) => (iss.input === undefined ? MISSING_CONFIG : undefined) },
);
const ModelConfigOut = z.strictObject({ ...configShape, activation: Activation, readout: Readout });

export const ModelConfig = z
  .codec(ModelConfigIn, ModelConfigOut, {
    decode: ({ nonlinearity, activation, ...c }, payload) => {
      if (nonlinearity && activation && nonlinearity !== activation)
        payload.issues.push({
          code: 'custom',
          path: ['nonlinearity'],
          input: nonlinearity,
          message: `nonlinearity "${nonlinearity}" and activation "${activation}" disagree: give one of them`,
        });
      return { ...c, activation: activation ?? nonlinearity ?? 'tanh' };
    },
    encode: (c) => c,
  })
  .meta({ id: 'ModelConfig' });
export type ModelConfig = z.infer<typeof ModelConfig>;

/** The sheet's myRNN state_dict, the layout weights are read back in by default. */
export const Weights = z
  .strictObject({
    'U.weight': tensor(2, '(H, d)', { name: 'U.weight' }),
    'W.weight': tensor(2, '(H, H)', { name: 'W.weight' }),
    'W.bias': tensor(1, '(H)', { name: 'W.bias' }),
    'V.weight': tensor(2, '(C, H)', { name: 'V.weight' }),
    'V.bias': tensor(1, '(C)', { name: 'V.bias' }),
  })
  .meta({ description: "myRNN's state_dict as nested lists: {k: v.tolist() for k, v in model.state_dict().items()}" });
export type Weights = z.infer<typeof Weights>;

// decoded weights remember the keys they were sent as, so that a shape issue names the key the client wrote
const SOURCE_KEYS = Symbol('sourceKeys');
const sourceKeysOf = (w: Weights): Record<WeightKey, string> =>
  (w as Weights & { [SOURCE_KEYS]?: Record<WeightKey, string> })[SOURCE_KEYS] ??
  (Object.fromEntries(WEIGHT_KEYS.map((k) => [k, k])) as Record<WeightKey, string>);

const isTensorData = (v: unknown): v is TensorData =>
  typeof v === 'object' && v !== null && (v as TensorData).data instanceof Float64Array;
const nested = (rank: number) => nestedJsonSchema(rank, false);

const myRnnJson = {
  type: 'object',
  title: 'myRNN',
  description: "the sheet's myRNN: U, W and V are nn.Linear",
  properties: {
    'U.weight': { ...nested(2), description: '(H, d)' },
    'W.weight': { ...nested(2), description: '(H, H)' },
    'W.bias': { ...nested(1), description: '(H)' },
    'V.weight': { ...nested(2), description: '(C, H)' },
    'V.bias': { ...nested(1), description: '(C)' },
  },
  required: [...WEIGHT_KEYS],
  additionalProperties: false,
};
const torchJson = {
  type: 'object',
  title: 'torch.nn.RNN',
  description:
    'torch.nn.RNN (one layer, one direction) and one nn.Linear head, with or without module prefixes: ' +
    '<rnn>.weight_ih_l0 (H, d) → U.weight, <rnn>.weight_hh_l0 (H, H) → W.weight, <rnn>.bias_ih_l0 + <rnn>.bias_hh_l0 (H) → W.bias, ' +
    '<head>.weight (C, H) → V.weight, <head>.bias (C) → V.bias; absent biases (bias=False) are zeros',
  additionalProperties: { anyOf: [nested(1), nested(2)] },
};

/** Weights as sent, in either layout, decoded to myRNN's keys. */
export const WeightsInput = z
  .codec(
    z.unknown(),
    z.custom<Weights>((v) => typeof v === 'object' && v !== null),
    {
      decode: (value, payload) => {
        const r = decodeStateDict(value);
        if (!r.ok) {
          for (const i of r.issues)
            payload.issues.push({ code: 'custom', path: i.path, message: i.message, input: value });
          return {} as Weights;
        }
        const w = { ...r.decoded.weights } as Weights;
        Object.defineProperty(w, SOURCE_KEYS, { value: r.decoded.sourceKeys, enumerable: false });
        return w;
      },
      encode: (w) => w as unknown,
    },
  )
  .meta({
    id: 'StateDict',
    description:
      'the state_dict as nested lists, {k: v.tolist() for k, v in model.state_dict().items()}: the sheet’s myRNN, or torch.nn.RNN + nn.Linear',
    anyOf: [myRnnJson, torchJson],
  });

/** Weights going out, in the layout asked for: the keys are myRNN's or torch.nn.RNN's. */
export const WeightsOutput = z
  .codec(
    z.unknown(),
    z.custom<Record<string, TensorData>>((v) => typeof v === 'object' && v !== null),
    {
      decode: (v) => v as Record<string, TensorData>,
      encode: (w) =>
        Object.fromEntries(Object.entries(w).map(([k, t]) => [k, isTensorData(t) ? toNested(t.data, t.shape) : t])),
    },
  )
  .meta({ anyOf: [myRnnJson, { ...torchJson, additionalProperties: { anyOf: [nested(1), nested(2)] } }] });

export const Init = z.strictObject({
  seed: z
    .int()
    .min(0)
    .max(Number.MAX_SAFE_INTEGER)
    .meta({ description: 'xoshiro128** seeded by SplitMix64; the same seed gives the same weights everywhere' }),
});

const DIMS: Record<WeightKey, readonly ('H' | 'd' | 'C')[]> = {
  'U.weight': ['H', 'd'],
  'W.weight': ['H', 'H'],
  'W.bias': ['H'],
  'V.weight': ['C', 'H'],
  'V.bias': ['C'],
};

/** The shape issues of weights against a config, with paths relative to the weights object. */
export function weightIssues(
  config: Pick<ModelConfig, 'inputSize' | 'hiddenSize' | 'outputSize'>,
  weights: Weights,
): Issue[] {
  const shapes = weightShapes(config);
  const source = sourceKeysOf(weights);
  const sizes = { H: config.hiddenSize, d: config.inputSize, C: config.outputSize };
  const issues: Issue[] = [];
  for (const key of WEIGHT_KEYS) {
    const got = weights[key].shape;
    const want = shapes[key];
    if (got.length !== want.length || got.some((n, i) => n !== want[i])) {
      const dims = [...new Set(DIMS[key])].map((a) => `${a} = ${sizes[a]}`).join(', ');
      const transposed = got.length === 2 && got[0] === want[1] && got[1] === want[0] ? ': is it transposed?' : '';
      issues.push({
        path: [source[key]],
        message: `${source[key]} is ${fmtShape(got)}; expected ${fmtShape(DIMS[key])} with ${dims}${transposed}`,
      });
    }
  }
  return issues;
}

/** Rewrites an issue's message (zod types raw issues as read-only; they are plain objects until finalized). */
export function setMessage(issue: z.core.$ZodRawIssue, message: string): void {
  (issue as { message?: string }).message = message;
}

/** The config the shapes of some weights imply, for the message that says it is missing. */
export function impliedConfig(w: DecodedWeights['weights']): string {
  const [H, d] = w['U.weight'].shape;
  const [C] = w['V.weight'].shape;
  return JSON.stringify({ inputSize: d, hiddenSize: H, outputSize: C });
}

/** The checks of a {config, weights | init} object, shared by inline models and POST /v1/models. */
export function modelIssues(m: { config?: ModelConfig; weights?: Weights; init?: unknown }, ctx: z.RefinementCtx) {
  if (typeof m !== 'object' || m === null) return;
  if (m.weights !== undefined && m.init !== undefined) {
    // before the weights' own issues: sending both is the mistake to fix
    ctx.issues.unshift({ code: 'custom', path: [], message: 'give exactly one of weights or init', input: m });
    return;
  }
  if (m.config === undefined || ctx.issues.some((i) => i.path?.[0] === 'config')) {
    // weights without config: say so first, with the config these weights fit
    const at = ctx.issues.findIndex((i) => i.path?.length === 1 && i.path[0] === 'config');
    const weights = m.weights && 'U.weight' in m.weights ? m.weights : undefined;
    if (at >= 0 && m.config === undefined && weights)
      setMessage(ctx.issues[at], `${MISSING_CONFIG}; these weights fit ${impliedConfig(weights)}`);
    return;
  }
  if ((m.weights === undefined) === (m.init === undefined)) {
    ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of weights or init' });
    return;
  }
  if (m.weights && !ctx.issues.some((i) => i.path?.[0] === 'weights'))
    for (const i of weightIssues(m.config, m.weights))
      ctx.addIssue({ code: 'custom', path: ['weights', ...i.path], message: i.message });
}

export const InlineModel = z
  .strictObject(
    {
      config: ModelConfig,
      weights: WeightsInput.optional(),
      init: Init.optional(),
    },
    {
      error: (iss) =>
        iss.input === undefined ? 'model is missing: {"config", "weights"} or {"config", "init": {"seed"}}' : undefined,
    },
  )
  .superRefine(modelIssues, { when: () => true })
  .meta({ id: 'InlineModel', description: '{"config", "weights"} or {"config", "init": {"seed"}}' });
export type InlineModel = z.infer<typeof InlineModel>;
