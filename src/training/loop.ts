// The training loop of a run, as it executes in a run worker: batches from a task or inline data, BPTT
// (truncated when asked), per-weight gradient norms before clipping, the dL/dh_t profile, the optimizer
// step, and a hidden-state snapshot of a fixed probe sequence every `hiddenEvery` steps. Frames are
// JSON-encoded here, off the event loop.
import { bptt } from '../core/bptt.js';
import { type Batch, forward } from '../core/elman.js';
import { CancelledError, NonFiniteError } from '../core/errors.js';
import { Rng } from '../core/init.js';
import type { Kernels } from '../core/kernels.js';
import { crossEntropy } from '../core/loss.js';
import { cloneParams, type Params } from '../core/model.js';
import { clipGradNorm, createOptimizer, gradNorms } from '../core/optim.js';
import { toNested } from '../core/tensor.js';
import type { TaskName } from '../schemas/names.js';
import type { Evaluation, HiddenFrame, RunSpec, StepFrame, TaskParams } from '../schemas/runs.js';
import type { Checkpoint, SamplerState } from './checkpoint.js';
import { TASKS } from './tasks.js';

/** Held-out sequences a task run is evaluated on when it ends. */
export const EVAL_SIZE = 1000;

export type DataSource =
  | { kind: 'task'; name: TaskName; params: TaskParams }
  | { kind: 'data'; x: Float64Array; N: number; T: number; targets: Float64Array };

/** A run's spec (as stored) with what the worker needs to train: the initial weights and the data itself. */
export interface TrainSpec extends Omit<RunSpec, 'source'> {
  params: Params;
  source: DataSource;
}

/** One recorded event: its step, kind and JSON text; step events also carry their numbers for the run's metrics. */
export interface EventOut {
  step: number;
  kind: 'step' | 'hidden';
  text: string;
  loss?: number;
  accuracy?: number;
}

export type { Evaluation } from '../schemas/runs.js';

export interface TrainOutcome {
  status: 'succeeded' | 'cancelled';
  /** Steps completed. */
  step: number;
  params: Params;
  evaluation: Evaluation | null;
}

export interface TrainIo {
  /** Receives the events of one step, in order. */
  emit(events: EventOut[]): void;
  /** True once the run is cancelled; polled every time step too, so one long step stops promptly. */
  stopped(): boolean;
  /** The kernel backend (the portable one when absent). */
  kernels?: Kernels;
  /** Receives a checkpoint every `checkpointEvery` completed steps, after the events of those steps. */
  checkpoint?(c: Checkpoint): void;
  checkpointEvery?: number;
}

interface Sampler {
  next(): { batch: Batch; targets: Float64Array };
  /** Where it is, for a checkpoint. */
  state(): SamplerState;
}

/**
 * Draws batches: fresh task sequences, or shuffled epochs over inline data (the whole set when batchSize ≥ N).
 * `from` continues where a checkpointed sampler was.
 */
function sampler(spec: TrainSpec, seed: number, from?: SamplerState): Sampler {
  const rng = from ? Rng.from(from.rng) : new Rng(seed);
  const { inputSize: d, readout } = spec.config;
  const src = spec.source;
  if (src.kind === 'task') {
    const task = TASKS[src.name];
    const T = src.params.length;
    const B = spec.batchSize;
    const x = new Float64Array(B * T * d);
    const targets = new Float64Array(B);
    return {
      next() {
        task.fill(rng, src.params, B, x, targets);
        return { batch: { x, B, T }, targets };
      },
      state: () => ({ rng: rng.state(), pos: 0, order: null }),
    };
  }
  const { N, T } = src;
  const B = Math.min(spec.batchSize, N);
  const perTarget = readout === 'all' ? T : 1;
  if (B === N)
    return {
      next: () => ({ batch: { x: src.x, B, T }, targets: src.targets }),
      state: () => ({ rng: rng.state(), pos: 0, order: null }),
    };
  const order = from?.order ? Uint32Array.from(from.order) : Uint32Array.from({ length: N }, (_, i) => i);
  let pos = from?.order ? from.pos : N;
  const x = new Float64Array(B * T * d);
  const targets = new Float64Array(B * perTarget);
  return {
    next() {
      for (let b = 0; b < B; b++) {
        if (pos === N) {
          // Fisher–Yates, seeded: every epoch visits each example once
          for (let i = N - 1; i > 0; i--) {
            const j = rng.int(i + 1);
            [order[i], order[j]] = [order[j], order[i]];
          }
          pos = 0;
        }
        const n = order[pos++];
        x.set(src.x.subarray(n * T * d, (n + 1) * T * d), b * T * d);
        targets.set(src.targets.subarray(n * perTarget, (n + 1) * perTarget), b * perTarget);
      }
      return { batch: { x, B, T }, targets };
    },
    state: () => ({ rng: rng.state(), pos, order: Uint32Array.from(order) }),
  };
}

/** The share of predictions whose largest logit is the target. */
export function accuracyOf(logits: Float64Array, targets: ArrayLike<number>, n: number, C: number): number {
  let right = 0;
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (logits[r * C + c] > logits[r * C + best]) best = c;
    if (best === targets[r]) right++;
  }
  return right / n;
}

/** ‖dL/dh_t‖ over the batch and hidden units, for each t: the vanishing/exploding profile. */
function dhProfile(dh: Float64Array, B: number, T: number, H: number): number[] {
  const out = new Array<number>(T).fill(0);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      let s = 0;
      const o = (b * T + t) * H;
      for (let i = 0; i < H; i++) s += dh[o + i] * dh[o + i];
      out[t] += s;
    }
  return out.map(Math.sqrt);
}

/** A fixed probe sequence (1, T, d): the first inline example, or one task sequence from its own seed. */
function probeOf(spec: TrainSpec, probeSeed: number): Batch {
  const src = spec.source;
  if (src.kind === 'data') return { x: src.x.subarray(0, src.T * spec.config.inputSize), B: 1, T: src.T };
  const T = src.params.length;
  const x = new Float64Array(T * spec.config.inputSize);
  TASKS[src.name].fill(new Rng(probeSeed), src.params, 1, x, new Float64Array(1));
  return { x, B: 1, T };
}

/**
 * The held-out loss and accuracy, in slices of batchSize sequences: each slice costs what a step's forward
 * does (admitted with the run), memory stays that of one batch, and a cancel is seen at every timestep.
 */
function evaluate(spec: TrainSpec, params: Params, evalSeed: number, io: TrainIo, check: () => void): Evaluation {
  const model = { config: spec.config, params };
  const { outputSize: C, inputSize: d, readout } = spec.config;
  const src = spec.source;
  const T = src.kind === 'data' ? src.T : src.params.length;
  const N = src.kind === 'data' ? src.N : EVAL_SIZE;
  const perTarget = readout === 'all' ? T : 1;
  let x: Float64Array;
  let targets: Float64Array;
  if (src.kind === 'data') {
    x = src.x;
    targets = src.targets;
  } else {
    x = new Float64Array(N * T * d);
    targets = new Float64Array(N);
    TASKS[src.name].fill(new Rng(evalSeed), src.params, N, x, targets);
  }
  const slice = Math.max(1, Math.min(spec.batchSize, N));
  let loss = 0;
  let right = 0;
  for (let b0 = 0; b0 < N; b0 += slice) {
    check();
    const B = Math.min(slice, N - b0);
    const batch: Batch = { x: x.subarray(b0 * T * d, (b0 + B) * T * d), B, T };
    const t = targets.subarray(b0 * perTarget, (b0 + B) * perTarget);
    const f = forward(model, batch, { check, kernels: io.kernels, skip: ['h'] });
    const n = B * perTarget;
    loss += crossEntropy(f.logits, t, n, C) * n;
    right += accuracyOf(f.logits, t, n, C) * n;
  }
  const total = N * perTarget;
  return { loss: loss / total, accuracy: right / total, size: N };
}

/** Trains a run from its first step, or (with `resume`) from a checkpoint, taking the same steps either way. */
export function train(spec: TrainSpec, io: TrainIo, resume?: Checkpoint): TrainOutcome {
  const { config } = spec;
  const { hiddenSize: H, outputSize: C, readout } = config;
  // independent streams for the batches, the probe and the evaluation, all from the run's seed
  const root = new Rng(spec.seed);
  const [dataSeed, probeSeed, evalSeed] = [root.nextU32(), root.nextU32(), root.nextU32()];
  const data = sampler(spec, dataSeed, resume?.sampler);
  const probe = probeOf(spec, probeSeed);
  const params = resume ? cloneParams(resume.params) : spec.params;
  const model = { config, params };
  const optimizer = createOptimizer(spec.optimizer, resume?.optimizer);
  const every = io.checkpoint ? (io.checkpointEvery ?? 0) : 0;
  const check = () => {
    if (io.stopped()) throw new CancelledError('the run was cancelled');
  };
  const hidden = (step: number): EventOut => {
    const h = forward(model, probe, { check, kernels: io.kernels }).h; // (1, T, H)
    const frame: HiddenFrame = { event: 'hidden', step, h: toNested(h, [probe.T, H]) as number[][] };
    return { step, kind: 'hidden', text: JSON.stringify(frame) };
  };

  let step = resume?.step ?? 0;
  try {
    for (; step < spec.steps; step++) {
      check();
      const events: EventOut[] = [];
      // the snapshot of step s shows the weights step s is measured at, so it comes first in its step
      if (step % spec.hiddenEvery === 0) events.push(hidden(step));
      const { batch, targets } = data.next();
      const r = bptt(model, batch, targets, { truncate: spec.truncate, check, kernels: io.kernels, skip: ['h'] });
      const n = readout === 'all' ? batch.B * batch.T : batch.B;
      const accuracy = accuracyOf(r.logits, targets, n, C);
      const norms = gradNorms(r.grads); // before clipping: what the gradients really were
      for (const [key, v] of Object.entries(norms))
        if (!Number.isFinite(v)) throw new NonFiniteError(`gradNorm.${key}`, [], v);
      if (spec.clipNorm !== undefined) clipGradNorm(r.grads, spec.clipNorm);
      optimizer.step(params, r.grads);
      const frame: StepFrame = {
        event: 'step',
        step,
        loss: r.loss,
        accuracy,
        gradNorm: norms,
        dhNorm: dhProfile(r.dh, batch.B, batch.T, H),
      };
      events.push({ step, kind: 'step', text: JSON.stringify(frame), loss: r.loss, accuracy });
      io.emit(events);
      const done = step + 1;
      if (every > 0 && done % every === 0 && done < spec.steps)
        io.checkpoint!({
          step: done,
          params: cloneParams(params),
          optimizer: optimizer.state(),
          sampler: data.state(),
        });
    }
    // the trained network on the probe, so the last snapshot is always the final weights
    io.emit([hidden(step)]);
    const evaluation = evaluate(spec, params, evalSeed, io, check);
    return { status: 'succeeded', step, params, evaluation };
  } catch (e) {
    if (e instanceof CancelledError) return { status: 'cancelled', step, params, evaluation: null };
    throw e;
  }
}
