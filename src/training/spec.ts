// A run's request resolved into what it trains: the model (inline, stored or the task's default), the data
// source, and every default filled in, checked against the limits before anything is queued.
import { checkModelSize, materialize } from '../compute/models.js';
import { initParams } from '../core/init.js';
import { cloneParams, type ElmanConfig, forwardCost, type Params } from '../core/model.js';
import type { OptimizerSpec } from '../core/optim.js';
import { AppError, RequestValidationError } from '../errors.js';
import { batchIssues } from '../schemas/compute.js';
import type { CreateRunBody, RunSpec, TaskParams } from '../schemas/runs.js';
import { type DataSource, EVAL_SIZE, type TrainSpec } from './loop.js';
import { TASKS } from './tasks.js';

export type { RunSpec } from '../schemas/runs.js';

/** Without a task, a run trains with these unless the body says otherwise. */
export const DATA_DEFAULTS = { optimizer: { name: 'adam', lr: 1e-3 } as OptimizerSpec, steps: 1000, batchSize: 32 };

export interface RunLimits {
  maxSteps: number;
  maxCost: number;
  /** A whole run's cost: its steps, snapshots and evaluation (UNROLL_RUN_MAX_COST). */
  maxRunCost: number;
  /** Bytes of one run's event log (UNROLL_RUN_MAX_LOG_BYTES). */
  maxLogBytes: number;
  maxParams: number;
  maxOutputElements: number;
  hiddenEvery: number;
}

export interface ResolvedRun {
  spec: RunSpec;
  params: Params;
  dataX: Float64Array | null;
  dataTargets: Float64Array | null;
}

type StoredModelLookup = (id: string) => { config: ElmanConfig; params: Params };

function startingModel(body: CreateRunBody, lookup: StoredModelLookup, maxParams: number, fallback?: ElmanConfig) {
  if (body.model) return materialize(body.model, maxParams);
  if (body.modelId) {
    const m = lookup(body.modelId);
    return { config: m.config, params: cloneParams(m.params) };
  }
  const config = fallback!;
  checkModelSize(config, maxParams);
  return { config, params: initParams(config, body.seed ?? 0) };
}

export function resolveRun(body: CreateRunBody, lookup: StoredModelLookup, limits: RunLimits): ResolvedRun {
  const where = body.model ? ['model', 'config'] : ['modelId'];
  let source: RunSpec['source'];
  let model: { config: ElmanConfig; params: Params };
  let defaults: { optimizer: OptimizerSpec; steps: number; batchSize: number; clipNorm?: number };
  let T: number;
  if (body.task) {
    const task = TASKS[body.task.name];
    const params: TaskParams = {
      length: body.task.length ?? task.defaults.length,
      symbols: body.task.symbols ?? task.defaults.symbols,
    };
    const d = task.inputSize(params);
    const C = task.outputSize(params);
    model = startingModel(body, lookup, limits.maxParams, {
      inputSize: d,
      hiddenSize: task.defaults.hiddenSize,
      outputSize: C,
      activation: 'tanh',
      readout: 'last',
    });
    const c = model.config;
    const issues = [];
    if (c.inputSize !== d) issues.push({ path: [...where, 'inputSize'], message: `task ${task.name} feeds d = ${d}` });
    if (c.outputSize !== C)
      issues.push({ path: [...where, 'outputSize'], message: `task ${task.name} has C = ${C} classes` });
    if (c.readout !== 'last')
      issues.push({
        path: [...where, 'readout'],
        message: `task ${task.name} predicts once per sequence: readout "last"`,
      });
    if (issues.length) throw new RequestValidationError(issues);
    source = { kind: 'task', name: task.name, params };
    defaults = task.defaults;
    T = params.length;
  } else {
    const data = body.data!;
    model = startingModel(body, lookup, limits.maxParams);
    const issues = batchIssues(model.config, data).map((i) => ({ ...i, path: ['data', ...i.path] }));
    if (issues.length) throw new RequestValidationError(issues);
    [, T] = data.x.shape;
    source = { kind: 'data', N: data.x.shape[0], T };
    defaults = DATA_DEFAULTS;
  }
  const spec: RunSpec = {
    config: model.config,
    source,
    optimizer: body.optimizer ?? defaults.optimizer,
    steps: body.steps ?? defaults.steps,
    batchSize: body.batchSize ?? defaults.batchSize,
    clipNorm: body.clipNorm ?? defaults.clipNorm,
    truncate: body.truncate,
    seed: body.seed ?? 0,
    hiddenEvery: body.hiddenEvery ?? limits.hiddenEvery,
  };
  checkLimits(spec, T, limits);
  return {
    spec,
    params: model.params,
    dataX: body.data ? Float64Array.from(body.data.x.data) : null,
    dataTargets: body.data ? Float64Array.from(body.data.targets.data) : null,
  };
}

/** Multiply-add equivalents of one timestep's fixed work in one pass (see compute/cost.ts). */
const STEP_COST = 2_000;
/** A training step is a forward pass, the backward pass (about twice its multiply-adds) and the optimizer. */
const TRAIN_PASSES = 3;
/** Upper bound of one number in a frame's JSON, with its separator. */
const JSON_NUMBER_BYTES = 25;
/** A frame's fixed members (event, step, loss, accuracy, the gradient norms' keys). */
const FRAME_OVERHEAD_BYTES = 200;

/** Sequences the held-out evaluation runs on. */
export function evalSize(spec: RunSpec): number {
  return spec.source.kind === 'data' ? spec.source.N : EVAL_SIZE;
}

/** Snapshots a run records: every hiddenEvery steps, and one of the final weights. */
const snapshots = (spec: RunSpec) => Math.ceil(spec.steps / spec.hiddenEvery) + 1;

/** A whole run's cost before it starts: every step, every hidden snapshot (B = 1) and the evaluation. */
export function runCost(spec: RunSpec, B: number, T: number): number {
  const pass = (b: number) => forwardCost(spec.config, b, T) + T * STEP_COST;
  return spec.steps * TRAIN_PASSES * pass(B) + snapshots(spec) * pass(1) + pass(evalSize(spec));
}

/** The most bytes a run's event log can take: a step frame per step (dhNorm has T numbers), the snapshots (T·H). */
export function logBytes(spec: RunSpec, T: number): number {
  const step = FRAME_OVERHEAD_BYTES + (T + 7) * JSON_NUMBER_BYTES;
  const hidden = FRAME_OVERHEAD_BYTES + T * (spec.config.hiddenSize + 1) * JSON_NUMBER_BYTES;
  return spec.steps * step + snapshots(spec) * hidden + 4 * FRAME_OVERHEAD_BYTES;
}

function checkLimits(spec: RunSpec, T: number, limits: RunLimits): void {
  if (spec.steps > limits.maxSteps)
    throw new AppError('too-expensive', `steps = ${spec.steps} is above UNROLL_RUN_MAX_STEPS = ${limits.maxSteps}`);
  const B = spec.source.kind === 'data' ? Math.min(spec.batchSize, spec.source.N) : spec.batchSize;
  const cost = forwardCost(spec.config, B, T);
  if (cost > limits.maxCost)
    throw new AppError(
      'too-expensive',
      `one step costs ${cost.toExponential(3)} multiply-adds (B·T·H·(d+H) with B=${B}, T=${T}), above UNROLL_MAX_COMPUTE_COST = ${limits.maxCost}`,
    );
  const total = runCost(spec, B, T);
  if (total > limits.maxRunCost)
    throw new AppError(
      'too-expensive',
      `the run costs ${total.toExponential(3)} multiply-adds in all (${spec.steps} steps of B=${B}, T=${T}, ${snapshots(spec)} hidden snapshots, an evaluation on ${evalSize(spec)} sequences), above UNROLL_RUN_MAX_COST = ${limits.maxRunCost}`,
    );
  const bytes = logBytes(spec, T);
  if (bytes > limits.maxLogBytes)
    throw new AppError(
      'too-expensive',
      `the run's event log could take ${bytes} bytes (${spec.steps} step frames, ${snapshots(spec)} hidden snapshots of T·H = ${T * spec.config.hiddenSize} numbers), above UNROLL_RUN_MAX_LOG_BYTES = ${limits.maxLogBytes}: ask for a larger hiddenEvery or fewer steps`,
    );
  const snapshot = T * spec.config.hiddenSize;
  if (snapshot > limits.maxOutputElements)
    throw new AppError(
      'too-expensive',
      `a hidden snapshot would hold T·H = ${snapshot} elements, above UNROLL_MAX_OUTPUT_ELEMENTS = ${limits.maxOutputElements}`,
    );
}

/** The loop's input from a stored run. */
export function trainSpecOf(
  spec: RunSpec,
  params: Params,
  dataX: Float64Array | null,
  dataTargets: Float64Array | null,
): TrainSpec {
  const source: DataSource =
    spec.source.kind === 'task'
      ? spec.source
      : { kind: 'data', x: dataX!, N: spec.source.N, T: spec.source.T, targets: dataTargets! };
  return { ...spec, params, source };
}
