// BPTT against central finite differences of an independent scalar-loop network, on random shapes and
// seeds (fast-check, seeded: a failure prints its seed and path, and FC_SEED replays it).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bptt } from '../../src/core/bptt.js';
import { initParams, Rng } from '../../src/core/init.js';
import { type ElmanConfig, PARAM_OF, WEIGHT_KEYS } from '../../src/core/model.js';
import { centralDiff, h0Of, type NaiveInput, naiveLoss, naiveTruncatedLoss, runCells } from '../helpers/naive.js';

const SEED = Number(process.env.FC_SEED ?? 20261127);
const RUNS = 60;

const instance = fc.record({
  B: fc.integer({ min: 1, max: 3 }),
  T: fc.integer({ min: 1, max: 6 }),
  d: fc.integer({ min: 1, max: 4 }),
  H: fc.integer({ min: 1, max: 4 }),
  C: fc.integer({ min: 1, max: 4 }),
  relu: fc.boolean(),
  all: fc.boolean(),
  withH0: fc.boolean(),
  seed: fc.nat({ max: 2 ** 31 }),
});
type Instance = typeof instance extends fc.Arbitrary<infer T> ? T : never;

function build(i: Instance): NaiveInput {
  const cfg: ElmanConfig = {
    inputSize: i.d,
    hiddenSize: i.H,
    outputSize: i.C,
    activation: i.relu ? 'relu' : 'tanh',
    readout: i.all ? 'all' : 'last',
  };
  const rng = new Rng(i.seed);
  const p = initParams(cfg, i.seed);
  // widen the weights a little so that tanh is not nearly linear and relu units switch on and off
  for (const k of WEIGHT_KEYS)
    p[PARAM_OF[k]].forEach((v, j, a) => {
      a[j] = v * 2.5;
    });
  const x = Float64Array.from({ length: i.B * i.T * i.d }, () => rng.normal());
  const h0 = i.withH0 ? Float64Array.from({ length: i.B * i.H }, () => 0.5 * rng.normal()) : null;
  const targets = Int32Array.from({ length: i.all ? i.B * i.T : i.B }, () => rng.int(i.C));
  return { cfg, p, x, B: i.B, T: i.T, h0, targets };
}

/** |analytic − numeric| ≤ atol + rtol·|numeric| elementwise (finite differences carry ~1e-10 of noise). */
function close(analytic: Float64Array, numeric: Float64Array, what: string): void {
  expect(analytic.length, what).toBe(numeric.length);
  for (let j = 0; j < numeric.length; j++) {
    const ok = Math.abs(analytic[j] - numeric[j]) <= 1e-7 + 1e-6 * Math.abs(numeric[j]);
    if (!ok) expect.fail(`${what}[${j}]: analytic ${analytic[j]} vs numeric ${numeric[j]}`);
  }
}

const run = (inp: NaiveInput, truncate?: number) =>
  bptt({ config: inp.cfg, params: inp.p }, { x: inp.x, B: inp.B, T: inp.T, h0: inp.h0 }, inp.targets, {
    truncate,
    wantDx: true,
  });

describe('BPTT against finite differences', () => {
  it('grads, dx and dh0 of the full loss', () => {
    fc.assert(
      fc.property(instance, (i) => {
        const inp = build(i);
        const r = run(inp);
        const L = () => naiveLoss(inp);
        expect(Math.abs(r.loss - L())).toBeLessThan(1e-12);
        for (const k of WEIGHT_KEYS) close(r.grads[PARAM_OF[k]], centralDiff(inp.p[PARAM_OF[k]], L), k);
        close(r.dx!, centralDiff(inp.x, L), 'dx');
        if (inp.h0) close(r.dh0, centralDiff(inp.h0, L), 'dh0');
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('dh_t is the total gradient reaching h_t from every later step', () => {
    fc.assert(
      fc.property(instance, (i) => {
        const inp = build(i);
        const r = run(inp);
        const H = inp.cfg.hiddenSize;
        for (let b = 0; b < inp.B; b++) {
          const hs = runCells(inp, b, h0Of(inp, b), 0, inp.T);
          for (let s = 0; s < inp.T; s++) {
            const hsS = hs[s].slice();
            const numeric = centralDiff(hsS, () => naiveLoss(inp, { b, s, h: hsS }));
            close(r.dh.subarray((b * inp.T + s) * H, (b * inp.T + s + 1) * H), numeric, `dh[${b}][${s}]`);
          }
        }
      }),
      { seed: SEED + 1, numRuns: RUNS / 2 },
    );
  });

  it('truncated BPTT is the gradient of the windowed objective with h_{t−k} held constant', () => {
    fc.assert(
      fc.property(instance, fc.integer({ min: 1, max: 7 }), (i, k) => {
        const inp = build(i);
        const frozen = Array.from({ length: inp.B }, (_, b) => runCells(inp, b, h0Of(inp, b), 0, inp.T));
        const r = run(inp, k);
        const L = () => naiveTruncatedLoss(inp, k, frozen);
        expect(Math.abs(r.loss - L())).toBeLessThan(1e-12);
        for (const key of WEIGHT_KEYS)
          close(r.grads[PARAM_OF[key]], centralDiff(inp.p[PARAM_OF[key]], L), `${key} (k=${k})`);
        // x_s reaches the loss terms whose window holds cell s; the frozen states do not move with x
        close(r.dx!, centralDiff(inp.x, L), `dx (k=${k})`);
        if (inp.h0) close(r.dh0, centralDiff(inp.h0, L), `dh0 (k=${k})`);
      }),
      { seed: SEED + 2, numRuns: RUNS },
    );
  });

  it('truncate ≥ T is full BPTT', () => {
    fc.assert(
      fc.property(instance, fc.integer({ min: 0, max: 3 }), (i, extra) => {
        const inp = build(i);
        const full = run(inp);
        const trunc = run(inp, inp.T + extra);
        for (const k of WEIGHT_KEYS) expect(trunc.grads[PARAM_OF[k]]).toEqual(full.grads[PARAM_OF[k]]);
      }),
      { seed: SEED + 3, numRuns: 20 },
    );
  });
});
