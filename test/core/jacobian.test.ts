// The Jacobian's two checks from the issue: the sheet's scalar recursion, and contraction with dL/dh_t.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bptt } from '../../src/core/bptt.js';
import { forward } from '../../src/core/elman.js';
import { initParams, Rng } from '../../src/core/init.js';
import { JACOBIAN_KEYS, jacobian, jacobianSize } from '../../src/core/jacobian.js';
import { type ElmanConfig, type ElmanModel, PARAM_OF } from '../../src/core/model.js';

describe('jacobian', () => {
  it('is the sheet’s dh_t/dU = (1 − h_t²)(x_t + W dh_{t−1}/dU) for a scalar network', () => {
    const config: ElmanConfig = { inputSize: 1, hiddenSize: 1, outputSize: 2, activation: 'tanh', readout: 'last' };
    const U = 0.8;
    const Wv = -0.6;
    const model: ElmanModel = {
      config,
      params: {
        U: Float64Array.of(U),
        W: Float64Array.of(Wv),
        bW: Float64Array.of(0),
        V: Float64Array.of(1, -1),
        bV: Float64Array.of(0, 0),
      },
    };
    const xs = [0.5, -1.2, 2.0, 0.3, -0.7];
    const batch = { x: Float64Array.from(xs), B: 1, T: xs.length };
    const J = jacobian(model, batch, 'U.weight');
    const { h } = forward(model, batch);
    let prev = 0; // dh_{-1}/dU = 0
    xs.forEach((x, t) => {
      const expected = (1 - h[t] ** 2) * (x + Wv * prev);
      expect(J[t]).toBeCloseTo(expected, 15);
      prev = expected;
    });
    // Exercise 3 written out for t = 1: (1 − h_1²)(x_1 + W(1 − h_0²)x_0)
    expect(J[1]).toBeCloseTo((1 - h[1] ** 2) * (xs[1] + Wv * (1 - h[0] ** 2) * xs[0]), 15);
  });

  it('contracted with the readout’s dL/dh_t, gives the BPTT gradient of U, W and bW', () => {
    fc.assert(
      fc.property(
        fc.record({
          B: fc.integer({ min: 1, max: 3 }),
          T: fc.integer({ min: 1, max: 5 }),
          d: fc.integer({ min: 1, max: 3 }),
          H: fc.integer({ min: 1, max: 4 }),
          all: fc.boolean(),
          relu: fc.boolean(),
          seed: fc.nat(),
        }),
        ({ B, T, d, H, all, relu, seed }) => {
          const C = 3;
          const config: ElmanConfig = {
            inputSize: d,
            hiddenSize: H,
            outputSize: C,
            activation: relu ? 'relu' : 'tanh',
            readout: all ? 'all' : 'last',
          };
          const model: ElmanModel = { config, params: initParams(config, seed) };
          const rng = new Rng(seed + 1);
          const batch = { x: Float64Array.from({ length: B * T * d }, () => rng.normal()), B, T };
          const targets = Int32Array.from({ length: all ? B * T : B }, () => rng.int(C));
          const r = bptt(model, batch, targets);
          // the readout's own gradient at each h_t (not the total dh): dlogits_t V, only at T−1 for "last"
          const n = all ? B * T : B;
          const local = new Float64Array(B * T * H);
          for (let b = 0; b < B; b++)
            for (let t = all ? 0 : T - 1; t < T; t++) {
              const row = all ? b * T + t : b;
              for (let c = 0; c < C; c++) {
                const g = (r.y[row * C + c] - (targets[row] === c ? 1 : 0)) / n;
                for (let i = 0; i < H; i++) local[(b * T + t) * H + i] += g * model.params.V[c * H + i];
              }
            }
          for (const key of JACOBIAN_KEYS) {
            const J = jacobian(model, batch, key);
            const P = jacobianSize(model, 1, 1, key) / H;
            const grad = new Float64Array(P);
            for (let bt = 0; bt < B * T; bt++)
              for (let i = 0; i < H; i++)
                for (let q = 0; q < P; q++) grad[q] += local[bt * H + i] * J[(bt * H + i) * P + q];
            const want = r.grads[PARAM_OF[key]];
            for (let q = 0; q < P; q++)
              expect(Math.abs(grad[q] - want[q])).toBeLessThan(1e-12 + 1e-10 * Math.abs(want[q]));
          }
        },
      ),
      { seed: 20261127, numRuns: 40 },
    );
  });

  it('sizes what it will allocate before computing', () => {
    const model = {
      config: { inputSize: 7, hiddenSize: 10, outputSize: 3, activation: 'tanh', readout: 'last' } as const,
    };
    expect(jacobianSize(model, 5, 13, 'U.weight')).toBe(5 * 13 * 10 * 70);
    expect(jacobianSize(model, 5, 13, 'W.weight')).toBe(5 * 13 * 10 * 100);
    expect(jacobianSize(model, 5, 13, 'W.bias')).toBe(5 * 13 * 10 * 10);
  });
});
