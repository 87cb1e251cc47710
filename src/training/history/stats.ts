// The numbers a run's history is downsampled to: for each scalar series of its step events, per bucket of
// steps, the count, min, max and sum (so a bucket's mean is exact and two buckets combine exactly).
import { WEIGHT_KEYS } from '../../core/model.js';

/** The scalar series of a step frame, in the order a bucket's stats hold them. */
export const SERIES = ['loss', 'accuracy', 'gradNorm', ...WEIGHT_KEYS.map((k) => `gradNorm.${k}`)] as const;
export type SeriesName = (typeof SERIES)[number];
const S = SERIES.length;
/** Per series: n (finite values seen), min, max, sum. */
const FIELDS = 4;
export const STATS_LENGTH = S * FIELDS;

/** A bucket's stats: (S, 4) row-major [n, min, max, sum]. */
export type Stats = Float64Array;

export function emptyStats(): Stats {
  const s = new Float64Array(STATS_LENGTH);
  for (let i = 0; i < S; i++) {
    s[i * FIELDS + 1] = Number.POSITIVE_INFINITY;
    s[i * FIELDS + 2] = Number.NEGATIVE_INFINITY;
  }
  return s;
}

/** The series values of one step frame (NaN where a value is missing or not finite). */
export function seriesOf(frame: {
  loss?: unknown;
  accuracy?: unknown;
  gradNorm?: Record<string, unknown>;
}): Float64Array {
  const v = new Float64Array(S);
  const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : Number.NaN);
  v[0] = num(frame.loss);
  v[1] = num(frame.accuracy);
  // ‖dL/dθ‖ over all weights, as clip_grad_norm_ measures it
  let sq = 0;
  WEIGHT_KEYS.forEach((k, i) => {
    const g = num(frame.gradNorm?.[k]);
    v[3 + i] = g;
    sq += g * g;
  });
  v[2] = Math.sqrt(sq);
  return v;
}

/** Adds one step's values to a bucket. */
export function addValues(into: Stats, v: Float64Array): void {
  for (let i = 0; i < S; i++) {
    const x = v[i];
    if (Number.isNaN(x)) continue;
    const o = i * FIELDS;
    into[o]++;
    if (x < into[o + 1]) into[o + 1] = x;
    if (x > into[o + 2]) into[o + 2] = x;
    into[o + 3] += x;
  }
}

/** Adds a bucket to another (the stats of their union). */
export function addStats(into: Stats, s: Stats): void {
  for (let i = 0; i < S; i++) {
    const o = i * FIELDS;
    into[o] += s[o];
    if (s[o + 1] < into[o + 1]) into[o + 1] = s[o + 1];
    if (s[o + 2] > into[o + 2]) into[o + 2] = s[o + 2];
    into[o + 3] += s[o + 3];
  }
}

/** Steps in a bucket: the largest count of any series (a step always has its loss). */
export function stepsIn(s: Stats): number {
  let n = 0;
  for (let i = 0; i < S; i++) n = Math.max(n, s[i * FIELDS]);
  return n;
}

/** Series i of a bucket as min, max and mean; nulls when the bucket has no finite value of it. */
export function summary(s: Stats, i: number): [number | null, number | null, number | null] {
  const o = i * FIELDS;
  if (s[o] === 0) return [null, null, null];
  return [s[o + 1], s[o + 2], s[o + 3] / s[o]];
}

export const statsToBytes = (s: Stats) => Buffer.from(s.buffer, s.byteOffset, s.byteLength);
export const statsFromBytes = (b: Uint8Array): Stats => new Float64Array(new Uint8Array(b).buffer);
