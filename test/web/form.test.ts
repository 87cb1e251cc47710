// The form's body for POST /v1/runs, its own checks, the server's issue paths mapped back to fields, and
// the number formats on the page.
import { describe, expect, it } from 'vitest';
import { formatPercent, formatPow10, formatStep, formatValue, intTicks, niceTicks } from '../../public/js/format.js';
import { fieldOf, runBody, type TaskInfo, taskDims } from '../../public/js/runform.js';

const tasks: TaskInfo[] = [
  { name: 'parity', description: '', defaults: { length: 6, hiddenSize: 32, optimizer: { name: 'adam', lr: 0.01 } } },
  { name: 'copy-first', description: '', defaults: { length: 10, symbols: 4, hiddenSize: 32 } },
];

describe('runBody', () => {
  it('sends only what was filled in: the task and the server’s defaults for the rest', () => {
    expect(runBody({ task: 'parity', model: 'default', optimizer: '', length: '', steps: '' }, tasks)).toEqual({
      body: { task: { name: 'parity' } },
      errors: [],
    });
  });

  it('builds a custom network of the task’s shape, with H and the activation chosen', () => {
    const { body, errors } = runBody(
      {
        task: 'copy-first',
        symbols: '6',
        length: '30',
        model: 'custom',
        hiddenSize: '64',
        activation: 'relu',
        seed: '3',
      },
      tasks,
    );
    expect(errors).toEqual([]);
    expect(body).toEqual({
      task: { name: 'copy-first', length: 30, symbols: 6 },
      model: {
        config: { inputSize: 6, hiddenSize: 64, outputSize: 6, activation: 'relu', readout: 'last' },
        init: { seed: 3 },
      },
      seed: 3,
    });
  });

  it('starts from a stored model by id', () => {
    expect(runBody({ task: 'parity', model: 'stored:abc' }, tasks).body).toMatchObject({ modelId: 'abc' });
  });

  it('passes the optimizer, and a learning rate alone tunes the task’s optimizer', () => {
    expect(runBody({ task: 'parity', optimizer: 'momentum', lr: '0.1' }, tasks).body.optimizer).toEqual({
      name: 'momentum',
      lr: 0.1,
    });
    expect(runBody({ task: 'parity', optimizer: '', lr: '0.5' }, tasks).body.optimizer).toEqual({
      name: 'adam',
      lr: 0.5,
    });
    expect(runBody({ task: 'parity', optimizer: 'adam' }, tasks).body.optimizer).toEqual({ name: 'adam' });
  });

  it('names each field it cannot send', () => {
    const { errors } = runBody(
      { task: 'parity', steps: '1.5', batchSize: '0', lr: '-1', optimizer: 'sgd', clipNorm: 'x' },
      tasks,
    );
    expect(errors.map((e) => e.field).sort()).toEqual(['batchSize', 'clipNorm', 'lr', 'steps']);
    expect(runBody({ task: 'nope' }, tasks).errors).toEqual([{ field: 'task', message: 'choose a task' }]);
    expect(runBody({ task: 'parity', optimizer: 'sgd' }, tasks).errors).toEqual([
      { field: 'lr', message: 'sgd needs a learning rate' },
    ]);
  });

  it('gives copy-first K inputs and K classes, the others 1 and 2', () => {
    expect(taskDims(tasks[1], 7)).toEqual({ d: 7, C: 7 });
    expect(taskDims(tasks[1], 0)).toEqual({ d: 4, C: 4 });
    expect(taskDims(tasks[0], 0)).toEqual({ d: 1, C: 2 });
    expect(taskDims({ ...tasks[0], defaults: { inputSize: 3, outputSize: 5 } }, 0)).toEqual({ d: 3, C: 5 });
  });
});

describe('fieldOf', () => {
  it('maps a problem’s issue path to the form field', () => {
    expect(fieldOf(['task', 'length'])).toBe('length');
    expect(fieldOf(['task', 'symbols'])).toBe('symbols');
    expect(fieldOf(['model', 'config', 'hiddenSize'])).toBe('hiddenSize');
    expect(fieldOf(['modelId'])).toBe('model');
    expect(fieldOf(['optimizer', 'lr'])).toBe('lr');
    expect(fieldOf(['steps'])).toBe('steps');
    expect(fieldOf([])).toBe('');
  });
});

describe('formats', () => {
  it('picks round ticks', () => {
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0.13, 0.52, 4)).toEqual([0.2, 0.3, 0.4, 0.5]);
    expect(niceTicks(3, 3)).toEqual([3]);
    expect(intTicks(0, 3, 10)).toEqual([0, 1, 2, 3]);
  });

  it('writes steps, values, percentages and powers of ten for people', () => {
    expect(formatStep(950)).toBe('950');
    expect(formatStep(12_500)).toBe('12.5k');
    expect(formatStep(100_000)).toBe('100k');
    expect(formatStep(2_000_000)).toBe('2M');
    expect(formatValue(0.69251)).toBe('0.693');
    expect(formatValue(1.5e-7)).toBe('1.50e-7');
    expect(formatValue(null)).toBe('–');
    expect(formatPercent(0.953)).toBe('95.3 %');
    expect(formatPow10(-3)).toBe('1e-3');
    expect(formatPow10(-1)).toBe('0.1');
    expect(formatPow10(2)).toBe('100');
  });
});
