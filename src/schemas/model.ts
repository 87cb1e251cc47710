// The model on the wire: config, and weights as the sheet's myRNN state_dict, or a seed to draw them from.
import { z } from 'zod';
import { WEIGHT_KEYS, weightShapes } from '../core/model.js';
import type { Issue } from './problem.js';
import { tensor } from './tensor.js';

const size = (what: string) => z.int().min(1).max(1_000_000).meta({ description: what });

export const ModelConfig = z
  .strictObject({
    inputSize: size('d, the width of each x_t'),
    hiddenSize: size('H, the width of h_t'),
    outputSize: size('C, the number of classes'),
    activation: z.enum(['tanh', 'relu']).default('tanh'),
    readout: z
      .enum(['last', 'all'])
      .default('last')
      .meta({ description: '"last": one prediction per sequence (B, C); "all": one per step (B, T, C)' }),
  })
  .meta({ id: 'ModelConfig' });
export type ModelConfig = z.infer<typeof ModelConfig>;

export const Weights = z
  .strictObject({
    'U.weight': tensor(2, '(H, d)'),
    'W.weight': tensor(2, '(H, H)'),
    'W.bias': tensor(1, '(H)'),
    'V.weight': tensor(2, '(C, H)'),
    'V.bias': tensor(1, '(C)'),
  })
  .meta({ description: "myRNN's state_dict as nested lists: {k: v.tolist() for k, v in model.state_dict().items()}" });
export type Weights = z.infer<typeof Weights>;

export const Init = z.strictObject({
  seed: z
    .int()
    .min(0)
    .max(Number.MAX_SAFE_INTEGER)
    .meta({ description: 'xoshiro128** seeded by SplitMix64; the same seed gives the same weights everywhere' }),
});

/** The shape issues of weights against a config, with paths relative to the weights object. */
export function weightIssues(
  config: Pick<ModelConfig, 'inputSize' | 'hiddenSize' | 'outputSize'>,
  weights: Weights,
): Issue[] {
  const shapes = weightShapes(config);
  const issues: Issue[] = [];
  for (const key of WEIGHT_KEYS) {
    const got = weights[key].shape;
    const want = shapes[key];
    if (got.length !== want.length || got.some((n, i) => n !== want[i])) {
      issues.push({ path: [key], message: `${key} is (${got.join(', ')}), the config needs (${want.join(', ')})` });
    }
  }
  return issues;
}

export const InlineModel = z
  .strictObject({
    config: ModelConfig,
    weights: Weights.optional(),
    init: Init.optional(),
  })
  .superRefine((m, ctx) => {
    if ((m.weights === undefined) === (m.init === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of weights or init' });
      return;
    }
    if (m.weights)
      for (const i of weightIssues(m.config, m.weights))
        ctx.addIssue({ code: 'custom', path: ['weights', ...i.path], message: i.message });
  })
  .meta({ id: 'InlineModel', description: '{"config", "weights"} or {"config", "init": {"seed"}}' });
export type InlineModel = z.infer<typeof InlineModel>;
