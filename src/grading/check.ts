// Reading an answer and comparing it with a reference, element by element, with PrairieLearn's numeric rule.
import { numel, packNested, unravel } from '../core/tensor.js';
import type { Value } from './quantities.js';

/** PrairieLearn's pl-number-input defaults: |answer − truth| ≤ atol + rtol·|truth|. */
export const DEFAULT_RTOL = 1e-2;
export const DEFAULT_ATOL = 1e-8;

export interface Tolerance {
  rtol: number;
  atol: number;
}

export type Parsed = { ok: true; value: Value } | { ok: false; reason: string };

/** An answer as the student sent it: a number, or nested arrays of numbers of any (rectangular) shape. */
export function parseAnswer(raw: unknown): Parsed {
  if (typeof raw === 'number') return { ok: true, value: { data: Float64Array.of(raw), shape: [] } };
  if (!Array.isArray(raw)) return { ok: false, reason: `the answer is ${raw === null ? 'null' : `a ${typeof raw}`}` };
  let rank = 0;
  for (let v: unknown = raw; Array.isArray(v); v = v[0]) rank++;
  const r = packNested(raw, rank);
  if (!r.ok) return { ok: false, reason: `at index [${r.path.join(', ')}]: ${r.message}` };
  return { ok: true, value: { data: r.data, shape: r.shape } };
}

/**
 * Two shapes hold the same elements in the same order when they agree once their size-1 axes are
 * dropped (NumPy's squeeze): so [0.3] answers a scalar, and a list of T numbers answers dh_t/dU
 * of shape (1, T, 1, 1, 1). Any axis longer than 1 must match.
 */
export function sameLayout(a: readonly number[], b: readonly number[]): boolean {
  const sa = a.filter((n) => n !== 1);
  const sb = b.filter((n) => n !== 1);
  return sa.length === sb.length && sa.every((n, i) => n === sb[i]) && numel(a) === numel(b);
}

export interface Comparison {
  pass: boolean;
  /** Elements outside the tolerance. */
  bad: number;
  n: number;
  maxAbsError: number;
  /** Flat index of the largest error. */
  worst: number;
}

/** Element-wise |a − t| ≤ atol + rtol·|t|; the two must hold the same number of elements. */
export function compare(answer: Float64Array, truth: Float64Array, tol: Tolerance): Comparison {
  let bad = 0;
  let maxAbsError = 0;
  let worst = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i];
    const e = Math.abs(answer[i] - t);
    if (!(e <= tol.atol + tol.rtol * Math.abs(t))) bad++;
    if (e > maxAbsError) {
      maxAbsError = e;
      worst = i;
    }
  }
  return { pass: bad === 0, bad, n: truth.length, maxAbsError, worst };
}

/** True when `candidate` would pass as an answer for `truth`: such a candidate cannot explain a wrong answer. */
export function indistinguishable(candidate: Value, truth: Value, tol: Tolerance): boolean {
  return candidate.data.length === truth.data.length && compare(candidate.data, truth.data, tol).pass;
}

export const fmtNum = (v: number): string =>
  v === 0 ? '0' : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? `${+v.toPrecision(4)}` : v.toExponential(2);
export const fmtShape = (s: readonly number[]): string => `(${s.join(', ')}${s.length === 1 ? ',' : ''})`;

/** The index of flat element i in a shape, for feedback: "[2, 1]", or "" for a scalar. */
export function fmtIndex(i: number, shape: readonly number[]): string {
  return shape.length ? ` at index [${unravel(i, shape).join(', ')}]` : '';
}

/**
 * For a quantity laid out (B, T, ...), the first element outside the tolerance in time order: the smallest
 * t, then the smallest b, then the first element of that (b, t) block. That is where a bug first shows.
 */
export function firstDifference(
  answer: Float64Array,
  truth: Float64Array,
  tol: Tolerance,
  B: number,
  T: number,
): { b: number; t: number; index: number } | undefined {
  const block = truth.length / (B * T);
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++) {
      const start = (b * T + t) * block;
      for (let i = start; i < start + block; i++) {
        const e = Math.abs(answer[i] - truth[i]);
        if (!(e <= tol.atol + tol.rtol * Math.abs(truth[i]))) return { b, t, index: i };
      }
    }
  return undefined;
}
