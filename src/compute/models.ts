// Models between the wire and the core: inline or stored, weights or a seed, always checked for size first.
import { initParams } from '../core/init.js';
import {
  type ElmanConfig,
  type ElmanModel,
  PARAM_OF,
  type Params,
  paramCount,
  WEIGHT_KEYS,
  weightShapes,
} from '../core/model.js';
import type { ModelSummary, ModelsRepo, StoredModel } from '../db/models.repo.js';
import { AppError } from '../errors.js';
import { type InlineModel, type ModelConfig, type Weights, weightIssues } from '../schemas/model.js';
import { type Layout, torchStateDict } from '../schemas/state-dict.js';
import { Tensor, type TensorData } from '../schemas/tensor.js';

export function toElmanConfig(c: ModelConfig): ElmanConfig {
  return {
    inputSize: c.inputSize,
    hiddenSize: c.hiddenSize,
    outputSize: c.outputSize,
    activation: c.activation,
    readout: c.readout,
  };
}

export function paramsFromWeights(w: Weights): Params {
  return {
    U: w['U.weight'].data,
    W: w['W.weight'].data,
    bW: w['W.bias'].data,
    V: w['V.weight'].data,
    bV: w['V.bias'].data,
  };
}

/** The state_dict as tensors, ready to encode as nested lists that torch.tensor() and load_state_dict take. */
export function weightsOf(config: ElmanConfig, p: Params): Weights {
  const shapes = weightShapes(config);
  return Object.fromEntries(WEIGHT_KEYS.map((k) => [k, new Tensor(p[PARAM_OF[k]], shapes[k])])) as Weights;
}

/** The weights in the layout a reader asked for: myRNN's keys, or torch.nn.RNN + nn.Linear's. */
export function stateDictOf(
  config: ElmanConfig,
  p: Params,
  q: { layout: Layout; rnn: string; head: string } = { layout: 'myRNN', rnn: 'rnn', head: 'fc' },
): Record<string, TensorData> {
  return q.layout === 'torch.nn.RNN' ? torchStateDict(weightShapes(config), p, q) : weightsOf(config, p);
}

export function checkModelSize(config: ElmanConfig, maxParams: number): void {
  const n = paramCount(config);
  if (n > maxParams)
    throw new AppError(
      'too-expensive',
      `a model with d=${config.inputSize}, H=${config.hiddenSize}, C=${config.outputSize} has ${n} parameters, above UNROLL_MAX_PARAMS = ${maxParams}`,
    );
}

/** An inline model as the core sees it: its weights, or weights drawn from its seed. */
export function materialize(m: InlineModel, maxParams: number): ElmanModel {
  const config = toElmanConfig(m.config);
  checkModelSize(config, maxParams);
  return { config, params: m.weights ? paramsFromWeights(m.weights) : initParams(config, m.init!.seed) };
}

export class ModelService {
  constructor(
    private readonly repo: ModelsRepo,
    private readonly maxParams: number,
  ) {}

  create(body: { name?: string; config: ModelConfig; weights?: Weights; init?: { seed: number } }): StoredModel {
    const model = materialize(body as InlineModel, this.maxParams);
    if (body.name && this.repo.get(body.name))
      throw new AppError('conflict', `a model named "${body.name}" exists already`);
    return this.repo.create({
      name: body.name ?? null,
      config: model.config,
      params: model.params,
      source: body.init ? `init:${body.init.seed}` : 'weights',
    });
  }

  get(id: string): StoredModel {
    const m = this.repo.get(id);
    if (!m) throw new AppError('not-found', `no model with id or name "${id}"`);
    return m;
  }

  list(limit: number, offset: number): { models: ModelSummary[]; total: number } {
    return this.repo.list(limit, offset);
  }

  updateWeights(id: string, weights: Weights): StoredModel {
    const m = this.get(id);
    const issues = weightIssues(m.config, weights);
    if (issues.length)
      throw new AppError(
        'invalid-request',
        issues[0].message,
        issues.map((i) => ({ path: i.path, message: i.message })),
      );
    return this.repo.updateWeights(m.id, paramsFromWeights(weights))!;
  }

  delete(id: string): void {
    const m = this.get(id);
    this.repo.delete(m.id);
  }
}
