// The built-in training tasks: seeded generators of (x, targets) batches, each with defaults that reach a
// documented accuracy. Every batch is drawn fresh from the run's Rng, so batch accuracy is not memorization.
import type { Rng } from '../core/init.js';
import type { OptimizerSpec } from '../core/optim.js';
import type { TaskName } from '../schemas/names.js';
import type { TaskParams } from '../schemas/runs.js';

// declared in schemas, below training, so that the run schemas and the runs table may name them
export { TASK_NAMES, type TaskName } from '../schemas/names.js';
export type { TaskParams } from '../schemas/runs.js';

/** What a run uses when the body leaves it out, and the accuracy those defaults reach (held out, EVAL_SIZE sequences). */
export interface TaskDefaults {
  length: number;
  symbols: number;
  hiddenSize: number;
  optimizer: OptimizerSpec;
  steps: number;
  batchSize: number;
  clipNorm?: number;
  /** Held-out accuracy the defaults reach with seed 0 (tests hold each task to it). */
  accuracy: number;
}

export interface TaskDef {
  name: TaskName;
  description: string;
  inputSize(p: TaskParams): number;
  outputSize(p: TaskParams): number;
  /** Fills x (B, T, d) and targets (B) with B fresh sequences. */
  fill(rng: Rng, p: TaskParams, B: number, x: Float64Array, targets: Float64Array): void;
  defaults: TaskDefaults;
}

/** A bit as an input: ±1 keeps tanh units away from their flat zero-input point. */
const BIT_LOW = -1;
const BIT_HIGH = 1;
const bit = (rng: Rng) => rng.int(2);

const parity: TaskDef = {
  name: 'parity',
  description: 'x_t ∈ {−1, +1} encodes a bit; the class is the XOR of the T bits (1 when an odd number are set)',
  inputSize: () => 1,
  outputSize: () => 2,
  fill(rng, { length: T }, B, x, targets) {
    for (let b = 0; b < B; b++) {
      let ones = 0;
      for (let t = 0; t < T; t++) {
        const v = bit(rng);
        ones += v;
        x[b * T + t] = v ? BIT_HIGH : BIT_LOW;
      }
      targets[b] = ones % 2;
    }
  },
  defaults: {
    length: 6,
    symbols: 2,
    hiddenSize: 32,
    optimizer: { name: 'adam', lr: 0.01 },
    steps: 1500,
    batchSize: 32,
    clipNorm: 1,
    accuracy: 0.95,
  },
};

const majority: TaskDef = {
  name: 'majority',
  description: 'x_t ∈ {−1, +1} encodes a bit; the class is 1 when more than half of the T bits are set (a tie is 0)',
  inputSize: () => 1,
  outputSize: () => 2,
  fill(rng, { length: T }, B, x, targets) {
    for (let b = 0; b < B; b++) {
      let ones = 0;
      for (let t = 0; t < T; t++) {
        const v = bit(rng);
        ones += v;
        x[b * T + t] = v ? BIT_HIGH : BIT_LOW;
      }
      targets[b] = 2 * ones > T ? 1 : 0;
    }
  },
  defaults: {
    length: 11,
    symbols: 2,
    hiddenSize: 16,
    optimizer: { name: 'adam', lr: 0.01 },
    steps: 400,
    batchSize: 32,
    clipNorm: 1,
    accuracy: 0.95,
  },
};

const copyFirst: TaskDef = {
  name: 'copy-first',
  description:
    'x_t one-hot over K symbols, all drawn at random; the class is the symbol seen at t = 0, recalled after T steps of distractors. The long-range task: raise T to watch dhNorm vanish toward t = 0',
  inputSize: (p) => p.symbols,
  outputSize: (p) => p.symbols,
  fill(rng, { length: T, symbols: K }, B, x, targets) {
    x.fill(0);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const s = rng.int(K);
        x[(b * T + t) * K + s] = 1;
        if (t === 0) targets[b] = s;
      }
    }
  },
  defaults: {
    length: 10,
    symbols: 4,
    hiddenSize: 32,
    optimizer: { name: 'adam', lr: 0.01 },
    steps: 300,
    batchSize: 32,
    clipNorm: 1,
    accuracy: 0.95,
  },
};

const signOfSum: TaskDef = {
  name: 'sign-of-sum',
  description: 'x_t ~ N(0, 1); the class is 1 when Σ_t x_t > 0',
  inputSize: () => 1,
  outputSize: () => 2,
  fill(rng, { length: T }, B, x, targets) {
    for (let b = 0; b < B; b++) {
      let sum = 0;
      for (let t = 0; t < T; t++) {
        const v = rng.normal();
        sum += v;
        x[b * T + t] = v;
      }
      targets[b] = sum > 0 ? 1 : 0;
    }
  },
  defaults: {
    length: 20,
    symbols: 2,
    hiddenSize: 16,
    optimizer: { name: 'adam', lr: 0.005 },
    steps: 500,
    batchSize: 64,
    clipNorm: 1,
    accuracy: 0.9,
  },
};

export const TASKS: Readonly<Record<TaskName, TaskDef>> = {
  parity,
  majority,
  'copy-first': copyFirst,
  'sign-of-sum': signOfSum,
};
