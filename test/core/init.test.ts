// The seeded generator is pinned to Vigna's reference C code, and initParams to PyTorch's nn.Linear bounds.
import { describe, expect, it } from 'vitest';
import { initParams, Rng } from '../../src/core/init.js';
import type { ElmanConfig } from '../../src/core/model.js';

// Printed by test/fixtures/rng/xoshiro128ss.c (cc -O2 -o /tmp/x xoshiro128ss.c && /tmp/x 42).
const SEED42_U32 = [1776835114, 4165204688, 17111135, 2317295270, 2792088233, 2554630222, 2940343271, 2244566231];
const SEED42_DOUBLES_AFTER_8 = [0.83064748854815251, 0.73624121597312775, 0.80580464398591933, 0.16638104895255812];

const sheet: ElmanConfig = { inputSize: 7, hiddenSize: 10, outputSize: 3, activation: 'tanh', readout: 'last' };

describe('Rng (xoshiro128** seeded by SplitMix64)', () => {
  it('matches the reference C implementation for seed 42', () => {
    const rng = new Rng(42);
    expect(SEED42_U32.map(() => rng.nextU32())).toEqual(SEED42_U32);
    expect(SEED42_DOUBLES_AFTER_8.map(() => rng.nextDouble())).toEqual(SEED42_DOUBLES_AFTER_8);
  });

  it('gives different streams for different seeds, and rejects seeds that are not safe integers', () => {
    expect(new Rng(0).nextU32()).toBe(3737715805);
    expect(new Rng(1).nextU32()).not.toBe(new Rng(2).nextU32());
    expect(() => new Rng(-1)).toThrow(RangeError);
    expect(() => new Rng(1.5)).toThrow(RangeError);
    expect(() => new Rng(2 ** 53)).toThrow(RangeError);
  });

  it('draws integers in range without bias and normals with mean 0, variance 1', () => {
    const rng = new Rng(7);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30000; i++) counts[rng.int(3)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(400);
    let s = 0;
    let s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      s += z;
      s2 += z * z;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.04);
  });
});

describe('initParams', () => {
  it('draws U.weight first, as (2u − 1)/√d from the same stream', () => {
    const p = initParams(sheet, 42);
    const rng = new Rng(42);
    const first = Array.from({ length: 3 }, () => (2 * rng.nextDouble() - 1) / Math.sqrt(7));
    expect(Array.from(p.U.subarray(0, 3))).toEqual(first);
  });

  it('pins the first weights for seed 42', () => {
    const p = initParams(sheet, 42);
    // (2u − 1)/√7 for the reference doubles u of seed 42 (see SEED42 above: doubles come from output pairs)
    expect(p.U[0]).toBeCloseTo((2 * pairDouble(SEED42_U32[0], SEED42_U32[1]) - 1) / Math.sqrt(7), 15);
    expect(p.U[1]).toBeCloseTo((2 * pairDouble(SEED42_U32[2], SEED42_U32[3]) - 1) / Math.sqrt(7), 15);
    expect(p.U[4]).toBeCloseTo((2 * SEED42_DOUBLES_AFTER_8[0] - 1) / Math.sqrt(7), 15);
  });

  it('keeps every weight within nn.Linear bounds and is deterministic', () => {
    const p = initParams(sheet, 3);
    const inBounds = (a: Float64Array, fan: number) => a.every((v) => Math.abs(v) < 1 / Math.sqrt(fan));
    expect(inBounds(p.U, 7) && inBounds(p.W, 10) && inBounds(p.bW, 10) && inBounds(p.V, 10) && inBounds(p.bV, 10)).toBe(
      true,
    );
    expect(initParams(sheet, 3)).toEqual(p);
    expect(initParams(sheet, 4).U).not.toEqual(p.U);
  });
});

function pairDouble(a: number, b: number): number {
  return ((a >>> 5) * 67108864 + (b >>> 6)) / 9007199254740992;
}
