// Resume in the loop itself: a run stopped after any checkpoint and resumed from that checkpoint (packed and
// unpacked as it is stored) ends with the weights of an uninterrupted run, bit for bit, and recomputes the
// same events, for every optimizer (momentum buffers, Adam's m/v/step, the AMSGrad max), for task data and
// for shuffled epochs over inline data (the order and the position in an epoch are part of the state).
import { describe, expect, it } from 'vitest';
import { initParams, Rng } from '../../src/core/init.js';
import { type ElmanConfig, PARAM_OF, type Params, WEIGHT_KEYS } from '../../src/core/model.js';
import type { OptimizerSpec } from '../../src/core/optim.js';
import { type Checkpoint, packCheckpoint, unpackCheckpoint } from '../../src/training/checkpoint.js';
import { type EventOut, type TrainSpec, train } from '../../src/training/loop.js';

const STEPS = 37;
const EVERY = 5;

const taskConfig: ElmanConfig = { inputSize: 1, hiddenSize: 6, outputSize: 2, activation: 'tanh', readout: 'last' };
const dataConfig: ElmanConfig = { inputSize: 2, hiddenSize: 5, outputSize: 3, activation: 'tanh', readout: 'all' };

function inlineData(N: number, T: number) {
  const rng = new Rng(9);
  const x = Float64Array.from({ length: N * T * 2 }, () => rng.uniform(-1, 1));
  const targets = Float64Array.from({ length: N * T }, () => rng.int(3));
  return { kind: 'data' as const, x, N, T, targets };
}

function specOf(source: 'task' | 'data', optimizer: OptimizerSpec): TrainSpec {
  const config = source === 'task' ? taskConfig : dataConfig;
  return {
    config,
    params: initParams(config, 4),
    source:
      source === 'task' ? { kind: 'task', name: 'sign-of-sum', params: { length: 4, symbols: 2 } } : inlineData(7, 3), // batches of 3 from 7 examples: epochs end mid-batch
    optimizer,
    steps: STEPS,
    batchSize: 3,
    clipNorm: 1,
    seed: 11,
    hiddenEvery: 4,
  };
}

const bytesOf = (p: Params) => Buffer.concat(WEIGHT_KEYS.map((k) => Buffer.from(p[PARAM_OF[k]].buffer)));

const OPTIMIZERS: [string, OptimizerSpec][] = [
  ['sgd', { name: 'sgd', lr: 0.1 }],
  ['momentum (nesterov, weight decay)', { name: 'momentum', lr: 0.05, nesterov: true, weightDecay: 1e-3 }],
  ['adam', { name: 'adam', lr: 0.01 }],
  ['adam with amsgrad', { name: 'adam', lr: 0.01, amsgrad: true, weightDecay: 1e-2 }],
];

describe.each(['task', 'data'] as const)('resuming a run on %s data', (source) => {
  it.each(OPTIMIZERS)('with %s gives the uninterrupted weights bit for bit', (_, optimizer) => {
    const events: EventOut[] = [];
    const checkpoints: Checkpoint[] = [];
    const whole = train(specOf(source, optimizer), {
      emit: (e) => events.push(...e),
      stopped: () => false,
      checkpointEvery: EVERY,
      checkpoint: (c) => checkpoints.push(c),
    });
    expect(checkpoints.map((c) => c.step)).toEqual([5, 10, 15, 20, 25, 30, 35]);
    for (const c of checkpoints) {
      const config = source === 'task' ? taskConfig : dataConfig;
      const restored = unpackCheckpoint(config, packCheckpoint(c));
      const again: EventOut[] = [];
      const out = train(specOf(source, optimizer), { emit: (e) => again.push(...e), stopped: () => false }, restored);
      expect(out.status).toBe('succeeded');
      expect(bytesOf(out.params).equals(bytesOf(whole.params))).toBe(true);
      expect(out.evaluation).toEqual(whole.evaluation);
      // the recomputed events are the ones the first run emitted from that step on
      expect(again.map((e) => e.text)).toEqual(events.filter((e) => e.step >= c.step).map((e) => e.text));
    }
  });
});

it('refuses a checkpoint that does not fit the model', () => {
  const c: Checkpoint[] = [];
  train(specOf('task', { name: 'adam', lr: 0.01 }), {
    emit: () => {},
    stopped: () => false,
    checkpointEvery: 10,
    checkpoint: (x) => c.push(x),
  });
  expect(() => unpackCheckpoint({ ...taskConfig, hiddenSize: 7 }, packCheckpoint(c[0]))).toThrow(/does not fit/);
});
