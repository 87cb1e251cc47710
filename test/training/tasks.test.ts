// Each built-in task, trained with its documented defaults and seed 0 by the run loop itself, reaches its
// documented held-out accuracy; and the loop's events have the promised shape.
import { describe, expect, it } from 'vitest';
import { initParams } from '../../src/core/init.js';
import { StepFrame } from '../../src/schemas/runs.js';
import { type EventOut, train } from '../../src/training/loop.js';
import { TASK_NAMES, TASKS } from '../../src/training/tasks.js';

function trainTask(name: (typeof TASK_NAMES)[number], onEvents: (e: EventOut[]) => void = () => {}) {
  const task = TASKS[name];
  const d = task.defaults;
  const params = { length: d.length, symbols: d.symbols };
  const config = {
    inputSize: task.inputSize(params),
    hiddenSize: d.hiddenSize,
    outputSize: task.outputSize(params),
    activation: 'tanh' as const,
    readout: 'last' as const,
  };
  return train(
    {
      config,
      params: initParams(config, 0),
      source: { kind: 'task', name, params },
      optimizer: d.optimizer,
      steps: d.steps,
      batchSize: d.batchSize,
      clipNorm: d.clipNorm,
      seed: 0,
      hiddenEvery: 100,
    },
    { emit: onEvents, stopped: () => false },
  );
}

describe.each(TASK_NAMES)('task %s', (name) => {
  it(`reaches its documented accuracy (${TASKS[name].defaults.accuracy}) with its defaults`, () => {
    const out = trainTask(name);
    expect(out.status).toBe('succeeded');
    expect(out.evaluation!.size).toBe(1000);
    expect(out.evaluation!.accuracy).toBeGreaterThanOrEqual(TASKS[name].defaults.accuracy);
  });
});

it('emits a step event per step (gradNorm per weight, dhNorm per t) and hidden snapshots every N steps', () => {
  const events: EventOut[] = [];
  const out = trainTask('majority', (e) => events.push(...e));
  const { steps, length: T, hiddenSize: H } = TASKS.majority.defaults;
  const stepEvents = events.filter((e) => e.kind === 'step');
  expect(stepEvents.map((e) => e.step)).toEqual(Array.from({ length: steps }, (_, i) => i));
  const first = StepFrame.parse(JSON.parse(stepEvents[0].text));
  expect(Object.keys(first.gradNorm)).toEqual(['U.weight', 'W.weight', 'W.bias', 'V.weight', 'V.bias']);
  expect(first.dhNorm).toHaveLength(T);
  // the readout sits on h_{T−1}, so its gradient is the largest there
  expect(first.dhNorm[T - 1]).toBeGreaterThan(first.dhNorm[0]);
  const hidden = events.filter((e) => e.kind === 'hidden');
  expect(hidden.map((e) => e.step)).toEqual([0, 100, 200, 300, steps]);
  const h = JSON.parse(hidden[0].text).h;
  expect([h.length, h[0].length]).toEqual([T, H]);
  expect(out.step).toBe(steps);
});

it('is deterministic: the same seed gives the same losses', () => {
  const losses = () => {
    const l: number[] = [];
    trainTask('majority', (e) => l.push(...e.filter((x) => x.kind === 'step').map((x) => x.loss!)));
    return l.slice(0, 50);
  };
  expect(losses()).toEqual(losses());
});
