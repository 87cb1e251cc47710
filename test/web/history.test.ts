// The bounded history behind the charts: full resolution for the latest points, equal-width buckets for
// older ones, memory bounded however many steps arrive, and a step axis that stays in order.
import { describe, expect, it } from 'vitest';
import { History, rowAt } from '../../public/js/history.js';

const fill = (h: History, n: number, value: (s: number) => number[] = (s) => [s]) => {
  for (let s = 0; s < n; s++) h.push(s, value(s));
};

describe('History', () => {
  it('keeps every point while there are few', () => {
    const h = new History({ width: 1, recent: 8, buckets: 8 });
    fill(h, 5);
    const s = h.snapshot();
    expect(Array.from(s.x)).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(s.values)).toEqual([0, 1, 2, 3, 4]);
    expect(h.series(0)).toEqual([0, 1, 2, 3, 4]);
  });

  it('stays bounded over 100k steps, with the latest points at full resolution', () => {
    const recent = 1024;
    const buckets = 2048;
    const h = new History({ width: 2, recent, buckets });
    fill(h, 100_000, (s) => [s, -s]);
    const s = h.snapshot();
    expect(h.count).toBe(100_000);
    // buckets + the partial one + recent points + up to one chunk waiting to age
    expect(s.rows).toBeLessThanOrEqual(buckets + 1 + recent + 256);
    const tail = Array.from(s.x.slice(-recent));
    expect(tail).toEqual(Array.from({ length: recent }, (_, k) => 100_000 - recent + k));
    for (let r = 1; r < s.rows; r++) expect(s.x[r]).toBeGreaterThan(s.x[r - 1]);
    expect(s.lo[0]).toBe(0);
    expect(s.hi[s.rows - 1]).toBe(99_999);
  });

  it('averages a bucket under mean: the mean of a linear series sits at the mean step', () => {
    const h = new History({ width: 1, recent: 4, buckets: 4 });
    fill(h, 2000);
    const s = h.snapshot();
    expect(h.bucketWidth).toBeGreaterThan(1);
    for (let r = 0; r < s.rows; r++) expect(s.values[r]).toBeCloseTo(s.x[r], 9);
    // buckets tile the steps without overlap
    for (let r = 1; r < s.rows; r++) expect(s.lo[r]).toBeGreaterThan(s.hi[r - 1]);
  });

  it('keeps a spike under max, where a mean would flatten it', () => {
    const spike = (s: number) => [s === 777 ? 1e6 : 1];
    const max = new History({ width: 1, reduce: 'max', recent: 4, buckets: 8 });
    const mean = new History({ width: 1, reduce: 'mean', recent: 4, buckets: 8 });
    fill(max, 5000, spike);
    fill(mean, 5000, spike);
    expect(Math.max(...max.snapshot().values)).toBe(1e6);
    expect(Math.max(...mean.snapshot().values)).toBeLessThan(1e6 / 100);
  });

  it('ignores a step it already has (a frame replayed after a reconnect)', () => {
    const h = new History({ width: 1 });
    expect(h.push(3, [1])).toBe(true);
    expect(h.push(3, [2])).toBe(false);
    expect(h.push(2, [2])).toBe(false);
    expect(h.push(7, [4])).toBe(true);
    expect(Array.from(h.snapshot().x)).toEqual([3, 7]);
  });

  it('records a missing value as NaN, a gap the chart leaves open', () => {
    const h = new History({ width: 2 });
    h.push(0, [1, null]);
    h.push(1, [Number.POSITIVE_INFINITY, 2]);
    expect(h.series(0)).toEqual([1, null]);
    expect(h.series(1)).toEqual([null, 2]);
  });

  it('keeps rows of T values for the dL/dh_t heatmap', () => {
    const T = 5;
    const h = new History({ width: T, recent: 16, buckets: 16 });
    fill(h, 500, (s) => Array.from({ length: T }, (_, t) => s * 10 + t));
    const s = h.snapshot();
    expect(s.width).toBe(T);
    expect(s.values.length).toBe(s.rows * T);
    const last = s.rows - 1;
    expect(Array.from(s.values.subarray(last * T))).toEqual([4990, 4991, 4992, 4993, 4994]);
  });
});

describe('rowAt', () => {
  it('finds the row covering a step by binary search', () => {
    const lo = [0, 10, 20, 30];
    expect(rowAt(lo, 4, -1)).toBe(-1);
    expect(rowAt(lo, 4, 0)).toBe(0);
    expect(rowAt(lo, 4, 9.5)).toBe(0);
    expect(rowAt(lo, 4, 10)).toBe(1);
    expect(rowAt(lo, 4, 1e9)).toBe(3);
    expect(rowAt([], 0, 5)).toBe(-1);
  });
});
