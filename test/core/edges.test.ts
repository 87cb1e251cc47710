// Edge cases of the issue: sizes of 1, relu exactly at 0, saturated tanh, and blow-ups reported, never returned.
import { describe, expect, it } from 'vitest';
import { bptt } from '../../src/core/bptt.js';
import { forward } from '../../src/core/elman.js';
import { NonFiniteError, ShapeError } from '../../src/core/errors.js';
import { gradcheck } from '../../src/core/gradcheck.js';
import { initParams } from '../../src/core/init.js';
import { jacobian } from '../../src/core/jacobian.js';
import type { ElmanConfig, ElmanModel } from '../../src/core/model.js';

const cfg = (over: Partial<ElmanConfig> = {}): ElmanConfig => ({
  inputSize: 1,
  hiddenSize: 1,
  outputSize: 2,
  activation: 'tanh',
  readout: 'last',
  ...over,
});

function scalarModel(c: ElmanConfig, U: number, W: number, V: number[]): ElmanModel {
  return {
    config: c,
    params: {
      U: Float64Array.of(U),
      W: Float64Array.of(W),
      bW: Float64Array.of(0),
      V: Float64Array.from(V),
      bV: new Float64Array(V.length),
    },
  };
}

describe('edge cases', () => {
  it('T = 1, B = 1, H = 1, C = 1: loss 0 and zero readout gradient, nothing NaN', () => {
    const c = cfg({ outputSize: 1 });
    const model = scalarModel(c, 0.5, 0.3, [0.7]);
    const r = bptt(model, { x: Float64Array.of(2), B: 1, T: 1 }, [0], { wantDx: true });
    expect(r.loss).toBe(0);
    expect(Array.from(r.y)).toEqual([1]);
    expect(Array.from(r.grads.U)).toEqual([0]);
    expect(r.hT[0]).toBeCloseTo(Math.tanh(1), 15);
  });

  it('relu exactly at 0 passes no gradient, as torch.relu’s backward', () => {
    const model = scalarModel(cfg({ activation: 'relu' }), 1, 0.5, [1, -1]);
    // a_0 = U·x_0 = 0 exactly, so h_0 = 0 and relu'(0) = 0
    const r = bptt(model, { x: Float64Array.of(0), B: 1, T: 1 }, [0]);
    expect(r.h[0]).toBe(0);
    expect(r.grads.U[0]).toBe(0);
    expect(r.dh[0]).not.toBe(0);
  });

  it('saturated tanh (|a| > 20) gives h = ±1 and zero gradient through the cell, with no NaN', () => {
    const model = scalarModel(cfg(), 30, 25, [1, -1]);
    const batch = { x: Float64Array.of(1, 1, 2), B: 1, T: 3 };
    const r = bptt(model, batch, [1], { wantDx: true });
    expect(Array.from(r.h)).toEqual([1, 1, 1]);
    expect(r.grads.U[0]).toBe(0);
    expect(r.grads.W[0]).toBe(0);
    expect([...r.dx!, ...r.dh].every(Number.isFinite)).toBe(true);
    expect(Array.from(jacobian(model, batch, 'U.weight'))).toEqual([0, 0, 0]);
  });

  it('an overflowing relu network is reported with the tensor and index that went first', () => {
    const c = cfg({ activation: 'relu' });
    const model = scalarModel(c, 1e300, 1e300, [1e300, 1]);
    const err = captureError(() => forward(model, { x: Float64Array.of(1, 1e300), B: 1, T: 2 }));
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(err).toMatchObject({ tensor: 'h', index: [0, 1, 0] });
  });

  it('finite h with overflowing logits names logits, and an overflowing gradient names it', () => {
    const model = scalarModel(cfg({ activation: 'relu' }), 1e200, 0, [1e200, 1]);
    expect(captureError(() => forward(model, { x: Float64Array.of(1e100), B: 1, T: 1 }))).toMatchObject({
      tensor: 'logits',
      index: [0, 0],
    });
    // tanh keeps h in [−1, 1]; huge V makes dL/dh = dlogits·V overflow while the forward stays finite
    const tanh = {
      config: cfg({ hiddenSize: 2 }),
      params: {
        U: Float64Array.of(0.1, 0.2),
        W: new Float64Array(4),
        bW: new Float64Array(2),
        V: Float64Array.of(1e308, 1e308, -1e308, -1e308),
        bV: new Float64Array(2),
      },
    };
    const e = captureError(() => bptt(tanh, { x: Float64Array.of(1), B: 1, T: 1 }, [1]));
    expect(e).toBeInstanceOf(NonFiniteError);
    expect((e as NonFiniteError).tensor).toMatch(/^(loss|dh|grads\.)/);
  });

  it('rejects shapes and targets that do not fit the config', () => {
    const model = { config: cfg({ inputSize: 2 }), params: initParams(cfg({ inputSize: 2 }), 1) };
    expect(() => forward(model, { x: new Float64Array(3), B: 1, T: 2 })).toThrow(ShapeError);
    expect(() => bptt(model, { x: new Float64Array(4), B: 1, T: 2 }, [2])).toThrow(/not a class/);
    expect(() => bptt(model, { x: new Float64Array(4), B: 1, T: 2 }, [0], { truncate: 0 })).toThrow(/truncate/);
  });
});

describe('skipped results', () => {
  it('come back empty, and everything else is unchanged', () => {
    const c = cfg({ inputSize: 2, hiddenSize: 3, readout: 'all' });
    const model = { config: c, params: initParams(c, 2) };
    const batch = { x: Float64Array.of(1, -1, 0.5, 2), B: 1, T: 2 };
    const full = bptt(model, batch, [0, 1]);
    const lean = bptt(model, batch, [0, 1], { skip: ['h', 'dh'] });
    expect(lean.h).toHaveLength(0);
    expect(lean.dh).toHaveLength(0);
    expect(lean.grads).toEqual(full.grads);
    expect(lean.hT).toEqual(full.hT);
    expect(forward(model, batch, { skip: ['h'] }).h).toHaveLength(0);
    // full BPTT with dh skipped overwrites dh with da in place: dx and dh0 are still the same
    const h0 = Float64Array.of(0.3, -0.2, 0.1);
    const withDx = bptt(model, { ...batch, h0 }, [0, 1], { wantDx: true });
    const leanDx = bptt(model, { ...batch, h0 }, [0, 1], { wantDx: true, skip: ['dh'] });
    expect(leanDx.dx).toEqual(withDx.dx);
    expect(leanDx.dh0).toEqual(withDx.dh0);
    expect(leanDx.grads).toEqual(withDx.grads);
  });

  it('a non-finite dh that relu hides from the gradients is reported as dh, skipped or not', () => {
    // h_1 = relu(−4) = 0 gives logits 0 and relu'(a_1) = 0, so every gradient is 0, but
    // dh_1 = dlogits·V = (2/3 + 1/3 + 1/3)·1.7e308 overflows
    const model = scalarModel(cfg({ activation: 'relu', outputSize: 3 }), 1, 1, [-1.7e308, 1.7e308, 1.7e308]);
    const batch = { x: Float64Array.of(1, -5), B: 1, T: 2 };
    for (const skip of [[], ['dh'], ['h', 'dh']] as const) {
      expect(captureError(() => bptt(model, batch, [0], { skip }))).toMatchObject({ tensor: 'dh', index: [0, 1, 0] });
    }
  });
});

describe('gradcheck', () => {
  it('passes BPTT on a random network and reports per-tensor errors', () => {
    const c = cfg({ inputSize: 3, hiddenSize: 4, outputSize: 3, readout: 'all' });
    const model = { config: c, params: initParams(c, 5) };
    const x = Float64Array.from({ length: 2 * 4 * 3 }, (_, i) => Math.sin(i));
    const r = gradcheck(model, { x, B: 2, T: 4 }, [0, 1, 2, 1, 2, 0, 1, 1]);
    expect(r.ok).toBe(true);
    expect(r.maxRelError).toBeLessThan(1e-6);
    expect(Object.keys(r.tensors)).toEqual(['U.weight', 'W.weight', 'W.bias', 'V.weight', 'V.bias']);
  });

  it('fails when eps is so large that the difference is wrong', () => {
    const c = cfg({ inputSize: 2, hiddenSize: 3 });
    const model = { config: c, params: initParams(c, 9) };
    const r = gradcheck(model, { x: Float64Array.of(1, -2, 0.5, 3), B: 1, T: 2 }, [1], { eps: 0.5 });
    expect(r.ok).toBe(false);
    expect(r.maxAbsError).toBeGreaterThan(1e-5);
  });
});

function captureError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}
