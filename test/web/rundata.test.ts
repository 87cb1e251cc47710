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
  it('takes the run’s config and length, which every run has', () => {
    const config = { inputSize: 3, hiddenSize: 8, outputSize: 4, activation: 'relu', readout: 'all' };
    expect(shapeOf({ config, length: 9 })).toEqual({
      T: 9,
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
    let clock = 0;
    const s = frameScheduler(() => drawn++, { raf: (cb) => queued.push(cb), now: () => clock });
    for (let k = 0; k < 1000; k++) s.mark();
    expect(queued).toHaveLength(1);
    expect(s.pending).toBe(true);
    queued.shift()!();
    expect(drawn).toBe(1);
    s.mark();
    s.mark();
    expect(queued).toHaveLength(1);
    clock += 16;
    queued.shift()!();
    expect(s.draws).toBe(2);
  });

  it('keeps drawing to its share of the time: a 10 ms draw waits 40 ms for the next', () => {
    const queued: (() => void)[] = [];
    let clock = 0;
    const s = frameScheduler(
      () => {
        clock += 10;
      },
      { raf: (cb) => queued.push(cb), now: () => clock, duty: 0.25 },
    );
    s.mark();
    queued.shift()!(); // draws from 0 to 10
    s.mark();
    const frames = [];
    while (s.pending) {
      clock += 16;
      frames.push(clock);
      queued.shift()!();
    }
    expect(s.draws).toBe(2);
    // the frame at 26 waits; the one at 42 (≥ 0 + 10 / 0.25 = 40) draws
    expect(frames).toEqual([26, 42]);
  });

  it('draws a prompt mark (the scrubber under the pointer) in the next frame, whatever the duty', () => {
    const queued: (() => void)[] = [];
    let clock = 0;
    const s = frameScheduler(
      () => {
        clock += 10;
      },
      { raf: (cb) => queued.push(cb), now: () => clock, duty: 0.25 },
    );
    const drawsAt: number[] = [];
    for (let frame = 0; frame < 6; frame++) {
      s.mark({ prompt: frame >= 3 });
      clock = frame * 16;
      const before = s.draws;
      queued.shift()?.();
      if (s.draws > before) drawsAt.push(frame);
    }
    // a 10 ms draw waits 40 ms (frames 0 and 3) until the marks are prompt: then every frame
    expect(drawsAt).toEqual([0, 3, 4, 5]);
  });

  it('draws every CATCHUP.ms while a backlog of updates arrives, every frame once it is gone', () => {
    const queued: (() => void)[] = [];
    let clock = 0;
    const s = frameScheduler(() => {}, {
      raf: (cb) => queued.push(cb),
      now: () => clock,
      catchup: { rate: 2000, ms: 250 },
    });
    const drawsAt: number[] = [];
    for (let frame = 0; frame < 40; frame++) {
      // a replay: 500 updates between two animation frames (31k a second) for 30 frames, then 1 (62 a second)
      for (let k = 0; k < (frame < 30 ? 500 : 1); k++) s.mark();
      const before = s.draws;
      clock = frame * 16;
      queued.shift()?.();
      if (s.draws > before) drawsAt.push(clock);
    }
    expect(drawsAt.slice(0, 3)).toEqual([0, 256, 512]);
    expect(drawsAt.slice(-3)).toEqual([592, 608, 624]); // live again: every frame
  });
});
