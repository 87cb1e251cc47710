// The selected run's state as frames arrive, and the once-per-animation-frame redraw.
import { describe, expect, it } from 'vitest';
import { frameScheduler } from '../../public/js/frame.js';
import { RunData, shapeOf, WEIGHT_KEYS } from '../../public/js/rundata.js';

const grad = { 'V.bias': 0.1, 'U.weight': 1, 'W.weight': 2, 'W.bias': 0, 'V.weight': 0.5 };
const step = (s: number, T = 4) => ({
  event: 'step' as const,
  step: s,
  loss: 0.7 - s / 1000,
  accuracy: 0.5,
  gradNorm: grad,
  dhNorm: Array.from({ length: T }, (_, t) => 0.5 ** (T - 1 - t)),
});

describe('RunData', () => {
  it('folds step, hidden and status frames into its histories', () => {
    const d = new RunData();
    expect(d.apply(step(0))).toBe(true);
    expect(d.apply(step(1))).toBe(true);
    expect(d.apply({ event: 'hidden', step: 0, h: [[0.1, -0.2, 0.3]] })).toBe(true);
    expect(d.apply({ event: 'status', step: 1, status: 'succeeded' })).toBe(true);
    expect(d.lastStep).toBe(1);
    expect(d.metrics.series(0)).toEqual([0.7, 0.699]);
    expect(d.gradKeys).toEqual(WEIGHT_KEYS); // the sheet's order, whatever the frame's
    // a zero norm is left off the log axis
    expect(d.grads!.series(WEIGHT_KEYS.indexOf('W.bias'))).toEqual([null, null]);
    expect(d.T).toBe(4);
    expect(d.H).toBe(3);
    expect(Array.from(d.latestProfile()!)).toEqual([0.125, 0.25, 0.5, 1]);
    expect(d.status).toBe('succeeded');
  });

  it('ignores frames it already has, and an older hidden snapshot', () => {
    const d = new RunData();
    d.apply(step(5));
    expect(d.apply(step(5))).toBe(false);
    d.apply({ event: 'hidden', step: 10, h: [[1]] });
    expect(d.apply({ event: 'hidden', step: 5, h: [[2]] })).toBe(false);
    expect(d.hidden!.h).toEqual([[1]]);
  });
});

describe('shapeOf', () => {
  it('takes the run’s config when the API gives it, else what the task and the frames say', () => {
    const d = new RunData();
    expect(shapeOf({ id: 'r' }, null, d)).toBeNull();
    d.apply(step(0, 6));
    d.apply({ event: 'hidden', step: 0, h: Array.from({ length: 6 }, () => [0, 0, 0, 0, 0]) });
    expect(shapeOf({ id: 'r' }, { d: 1, C: 2 }, d)).toEqual({
      T: 6,
      d: 1,
      H: 5,
      C: 2,
      activation: 'tanh',
      readout: 'last',
    });
    const config = { inputSize: 3, hiddenSize: 8, outputSize: 4, activation: 'relu', readout: 'all' };
    expect(shapeOf({ id: 'r', config }, null, d)).toEqual({
      T: 6,
      d: 3,
      H: 8,
      C: 4,
      activation: 'relu',
      readout: 'all',
    });
  });
});

describe('frameScheduler', () => {
  it('draws once per animation frame however many updates arrive', () => {
    const queued: (() => void)[] = [];
    let drawn = 0;
    const s = frameScheduler(
      () => drawn++,
      (cb) => queued.push(cb),
    );
    for (let k = 0; k < 1000; k++) s.mark();
    expect(queued).toHaveLength(1);
    expect(s.pending).toBe(true);
    queued.shift()!();
    expect(drawn).toBe(1);
    s.mark();
    s.mark();
    expect(queued).toHaveLength(1);
    queued.shift()!();
    expect(s.draws).toBe(2);
  });
});
