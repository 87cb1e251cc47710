// Reads the PyTorch reference cases in test/fixtures/oracle (copied from ../shared/oracle/vectors).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Batch } from '../../src/core/elman.js';
import {
  type ElmanConfig,
  type ElmanModel,
  PARAM_OF,
  type Params,
  WEIGHT_KEYS,
  weightShapes,
  zeroParams,
} from '../../src/core/model.js';
import { fromNested, type Nested, numel } from '../../src/core/tensor.js';

export const ORACLE_DIR = join(import.meta.dirname, '..', 'fixtures', 'oracle');

export interface OracleCase {
  name: string;
  request: {
    config: ElmanConfig;
    weights: Record<string, Nested>;
    x: number[][][];
    targets: Nested;
    h0?: number[][];
    truncate?: number;
    jacobian?: string[];
  };
  expected: Record<string, unknown> & {
    loss?: number;
    grads?: Record<string, Nested>;
    jacobian?: Record<string, Nested>;
  };
}

export function oracleCases(): OracleCase[] {
  return readdirSync(ORACLE_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ''), ...JSON.parse(readFileSync(join(ORACLE_DIR, f), 'utf8')) }));
}

export function modelOf(c: OracleCase): ElmanModel {
  const config: ElmanConfig = { ...c.request.config };
  const shapes = weightShapes(config);
  const params: Params = zeroParams(config);
  for (const k of WEIGHT_KEYS) params[PARAM_OF[k]] = fromNested(c.request.weights[k], shapes[k], k);
  return { config, params };
}

export function batchOf(c: OracleCase): Batch {
  const x = c.request.x;
  const B = x.length;
  const T = x[0].length;
  const d = x[0][0].length;
  const H = c.request.config.hiddenSize;
  return { x: fromNested(x, [B, T, d], 'x'), B, T, h0: c.request.h0 ? fromNested(c.request.h0, [B, H], 'h0') : null };
}

export function flat(v: unknown): Float64Array {
  const out: number[] = [];
  const walk = (u: unknown) => {
    if (Array.isArray(u)) u.forEach(walk);
    else out.push(u as number);
  };
  walk(v);
  return Float64Array.from(out);
}

/** Largest |a − b| / max(|b|, floor) over two equal-length arrays; Infinity when lengths differ. */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    const e = Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor);
    if (!(e <= m)) m = e; // NaN propagates as a failure
  }
  return m;
}

export { numel };
