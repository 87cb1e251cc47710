// Models between the wire and the core: inline or stored, weights or a seed, always checked for size first.
import { initParams, initParamsStepwise } from '../core/init.js';
import {
  type ElmanConfig,
  type ElmanModel,
  PARAM_OF,
  type Params,
  paramCount,
  WEIGHT_KEYS,
  weightShapes,
} from '../core/model.js';
import { isUniqueViolation } from '../db/errors.js';
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

/** Weights drawn per event-loop turn when a model is created from a seed (~1 ms). */
const INIT_SLICE = 65_536;

export class ModelService {
  constructor(
    private readonly repo: ModelsRepo,
    private readonly maxParams: number,
  ) {}

  /** Stores a model; weights drawn from a seed are drawn a slice at a time, yielding the event loop between. */
  async create(body: {
    name?: string;
    config: ModelConfig;
    weights?: Weights;
    init?: { seed: number };
  }): Promise<StoredModel> {
    const config = toElmanConfig(body.config);
    checkModelSize(config, this.maxParams);
    const taken = () => new AppError('conflict', `a model named "${body.name}" exists already`);
    if (body.name && (await this.repo.find(body.name))) throw taken();
    let model: ElmanModel;
    if (body.weights) model = { config, params: paramsFromWeights(body.weights) };
    else {
      const draw = initParamsStepwise(config, body.init!.seed);
      while (!draw.step(INIT_SLICE)) await new Promise((resolve) => setImmediate(resolve));
      model = { config, params: draw.params };
    }
    try {
      return await this.repo.create({
        name: body.name ?? null,
        config: model.config,
        params: model.params,
        source: body.init ? `init:${body.init.seed}` : 'weights',
      });
    } catch (err) {
      // two requests for one new name at once: the database's UNIQUE lets one in
      if (isUniqueViolation(err)) throw taken();
      throw err;
    }
  }

  async get(id: string): Promise<StoredModel> {
    const m = await this.repo.get(id);
    if (!m) throw new AppError('not-found', `no model with id or name "${id}"`);
    return m;
  }

  list(limit: number, offset: number): Promise<{ models: ModelSummary[]; total: number }> {
    return this.repo.list(limit, offset);
  }

  /** Its summary, without reading its weights. */
  async find(id: string): Promise<ModelSummary> {
    const m = await this.repo.find(id);
    if (!m) throw new AppError('not-found', `no model with id or name "${id}"`);
    return m;
  }

  async updateWeights(id: string, weights: Weights): Promise<StoredModel> {
    const m = await this.find(id);
    const issues = weightIssues(m.config, weights);
    if (issues.length)
      throw new AppError(
        'invalid-request',
        issues[0].message,
        issues.map((i) => ({ path: i.path, message: i.message })),
      );
    const updated = await this.repo.updateWeights(m.id, paramsFromWeights(weights));
    if (!updated) throw new AppError('not-found', `no model with id or name "${id}"`);
    return updated;
  }

  async delete(id: string): Promise<void> {
    const m = await this.find(id);
    await this.repo.delete(m.id);
  }
}
