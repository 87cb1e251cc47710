// Seeded weights: PyTorch's nn.Linear default bounds, drawn from a documented generator.
//
// Generator: xoshiro128** 1.1 (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c).
// Its four 32-bit state words are the low and high halves of the first two outputs of
// SplitMix64(seed) (https://prng.di.unimi.it/splitmix64.c). A double u ∈ [0, 1) takes two
// consecutive outputs a, b: u = ((a >>> 5)·2^26 + (b >>> 6)) / 2^53, the 53-bit construction
// of MT19937's genrand_res53. Weights are drawn in the order U.weight, W.weight, W.bias,
// V.weight, V.bias, each row-major, as w = (2u − 1)·bound with bound = 1/√fan_in.
// Integer arithmetic only (Math.imul, >>>), so every machine and release draws the same bits.
import { type ElmanConfig, fanIn, PARAM_OF, type Params, WEIGHT_KEYS, zeroParams } from './model.js';

const MASK64 = (1n << 64n) - 1n;

function splitmix64(state: { x: bigint }): bigint {
  state.x = (state.x + 0x9e3779b97f4a7c15n) & MASK64;
  let z = state.x;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/** Everything a generator will draw next depends on: its four state words and a kept Box–Muller normal (null: none). */
export interface RngState {
  s: [number, number, number, number];
  spare: number | null;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare = Number.NaN; // the second normal of a Box–Muller pair

  /** seed: a non-negative safe integer. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
    const sm = { x: BigInt(seed) };
    const z1 = splitmix64(sm);
    const z2 = splitmix64(sm);
    this.s0 = Number(z1 & 0xffffffffn) | 0;
    this.s1 = Number(z1 >> 32n) | 0;
    this.s2 = Number(z2 & 0xffffffffn) | 0;
    this.s3 = Number(z2 >> 32n) | 0;
  }

  /** A copy of the state, for a checkpoint: a generator restored from it draws exactly what this one would. */
  state(): RngState {
    return { s: [this.s0, this.s1, this.s2, this.s3], spare: Number.isNaN(this.spare) ? null : this.spare };
  }

  /** A generator that continues from a saved state. */
  static from(state: RngState): Rng {
    const r = new Rng(0);
    [r.s0, r.s1, r.s2, r.s3] = state.s.map((w) => w | 0);
    r.spare = state.spare ?? Number.NaN;
    return r;
  }

  /** The next 32-bit output of xoshiro128**, as an unsigned integer. */
  nextU32(): number {
    const s1 = this.s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r >>> 0;
  }

  /** Uniform on [0, 1) with 53 random bits. */
  nextDouble(): number {
    const a = this.nextU32() >>> 5;
    const b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.nextDouble();
  }

  /** Uniform integer in [0, n), without modulo bias (rejection sampling). */
  int(n: number): number {
    if (!(n >= 1 && n <= 2 ** 32)) throw new RangeError(`int(n) needs 1 ≤ n ≤ 2^32, got ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const r = this.nextU32();
      if (r < limit) return r % n;
    }
  }

  /** Standard normal (Box–Muller on two uniforms; the pair's second value is kept for the next call). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = Number.NaN;
      return v;
    }
    const u1 = 1 - this.nextDouble(); // (0, 1]: log stays finite
    const u2 = this.nextDouble();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Every weight uniform on (−1/√fan_in, 1/√fan_in), like a freshly built myRNN in PyTorch. */
export function initParams(config: ElmanConfig, seed: number): Params {
  const draw = initParamsStepwise(config, seed);
  draw.step(Number.POSITIVE_INFINITY);
  return draw.params;
}

/**
 * initParams a slice at a time, drawing the same numbers in the same order: each step(n) draws up to n
 * more weights and says whether all are drawn, so a caller can yield between slices of a large model.
 */
export function initParamsStepwise(config: ElmanConfig, seed: number): { params: Params; step(n: number): boolean } {
  const rng = new Rng(seed);
  const params = zeroParams(config);
  const fans = fanIn(config);
  let k = 0;
  let i = 0;
  return {
    params,
    step(n: number): boolean {
      let left = n;
      while (k < WEIGHT_KEYS.length && left > 0) {
        const key = WEIGHT_KEYS[k];
        const bound = 1 / Math.sqrt(fans[key]);
        const a = params[PARAM_OF[key]];
        const end = Math.min(a.length, i + left);
        left -= end - i;
        for (; i < end; i++) a[i] = (2 * rng.nextDouble() - 1) * bound;
        if (i === a.length) {
          k++;
          i = 0;
        }
      }
      return k === WEIGHT_KEYS.length;
    },
  };
}
