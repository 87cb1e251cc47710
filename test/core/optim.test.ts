// Optimizers and clipping against trajectories recorded from torch.optim (test/fixtures/optim.json,
// made by scripts/make-optim-cases.py).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PARAM_OF, type Params, WEIGHT_KEYS } from '../../src/core/model.js';
import { clipGradNorm, createOptimizer, gradNorms, type OptimizerSpec } from '../../src/core/optim.js';
import { flat, maxRelErr } from '../helpers/oracle.js';

interface Case {
  name: string;
  optimizer: OptimizerSpec;
  maxNorm: number | null;
  start: Record<string, unknown>;
  grads: Record<string, unknown>[];
  after: Record<string, unknown>[];
  norms: number[];
}
const { cases } = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'optim.json'), 'utf8')) as {
  cases: Case[];
};

function params(nested: Record<string, unknown>): Params {
  const p = {} as Params;
  for (const k of WEIGHT_KEYS) p[PARAM_OF[k]] = flat(nested[k]);
  return p;
}

describe.each(cases)('optimizer $name matches torch.optim', (c) => {
  it('follows the trajectory for five steps', () => {
    const p = params(c.start);
    const opt = createOptimizer(c.optimizer);
    c.grads.forEach((g, step) => {
      const grads = params(g);
      if (c.maxNorm !== null) expect(maxRelErr([clipGradNorm(grads, c.maxNorm)], [c.norms[step]])).toBeLessThan(1e-12);
      opt.step(p, grads);
      const want = params(c.after[step]);
      for (const k of WEIGHT_KEYS)
        expect(maxRelErr(p[PARAM_OF[k]], want[PARAM_OF[k]]), `${k} step ${step}`).toBeLessThan(1e-9);
    });
    expect(opt.steps).toBe(c.grads.length);
  });
});

describe('clipGradNorm', () => {
  it('scales to max_norm when above it and leaves small gradients alone', () => {
    const g: Params = {
      U: Float64Array.of(3),
      W: Float64Array.of(4),
      bW: new Float64Array(0),
      V: new Float64Array(0),
      bV: new Float64Array(0),
    };
    expect(clipGradNorm(g, 1)).toBe(5);
    const n = gradNorms(g);
    expect(Math.hypot(n['U.weight'], n['W.weight'])).toBeCloseTo(1, 5);
    const small: Params = { ...g, U: Float64Array.of(0.3), W: Float64Array.of(0.4) };
    expect(clipGradNorm(small, 1)).toBeCloseTo(0.5, 15);
    expect(small.U[0]).toBe(0.3);
  });
});
