// A third witness: the Elman network in scalar loops straight from the equations, with no kernels,
// used by the finite-difference tests. Slow and obvious on purpose.
import type { ElmanConfig, Params } from '../../src/core/model.js';

export interface NaiveInput {
  cfg: ElmanConfig;
  p: Params;
  x: Float64Array; // (B, T, d)
  B: number;
  T: number;
  h0: Float64Array | null;
  targets: ArrayLike<number>;
}

/** h_t of one sequence from a given start state, over steps [from, to). */
export function runCells(inp: NaiveInput, b: number, hStart: Float64Array, from: number, to: number): Float64Array[] {
  const { inputSize: d, hiddenSize: H, activation } = inp.cfg;
  const { U, W, bW } = inp.p;
  const hs: Float64Array[] = [];
  let prev = hStart;
  for (let t = from; t < to; t++) {
    const h = new Float64Array(H);
    for (let i = 0; i < H; i++) {
      let a = bW[i];
      for (let k = 0; k < d; k++) a += U[i * d + k] * inp.x[(b * inp.T + t) * d + k];
      for (let j = 0; j < H; j++) a += W[i * H + j] * prev[j];
      h[i] = activation === 'relu' ? Math.max(a, 0) : Math.tanh(a);
    }
    hs.push(h);
    prev = h;
  }
  return hs;
}

export function ce(p: Params, cfg: ElmanConfig, h: Float64Array, target: number): number {
  const { hiddenSize: H, outputSize: C } = cfg;
  const z = Array.from({ length: C }, (_, c) => {
    let s = p.bV[c];
    for (let i = 0; i < H; i++) s += p.V[c * H + i] * h[i];
    return s;
  });
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
  return lse - z[target];
}

export function h0Of(inp: NaiveInput, b: number): Float64Array {
  const H = inp.cfg.hiddenSize;
  return inp.h0 ? inp.h0.slice(b * H, (b + 1) * H) : new Float64Array(H);
}

/** The mean cross-entropy, optionally replacing h_s of sequence b by `replace` (to differentiate by h_s). */
export function naiveLoss(inp: NaiveInput, replace?: { b: number; s: number; h: Float64Array }): number {
  const { B, T } = inp;
  const all = inp.cfg.readout === 'all';
  let total = 0;
  for (let b = 0; b < B; b++) {
    let hs: Float64Array[];
    if (replace && replace.b === b) {
      const before = runCells(inp, b, h0Of(inp, b), 0, replace.s);
      const after = runCells(inp, b, replace.h, replace.s + 1, T);
      hs = [...before, replace.h, ...after];
    } else hs = runCells(inp, b, h0Of(inp, b), 0, T);
    if (all) for (let t = 0; t < T; t++) total += ce(inp.p, inp.cfg, hs[t], inp.targets[b * T + t]);
    else total += ce(inp.p, inp.cfg, hs[T - 1], inp.targets[b]);
  }
  return total / (all ? B * T : B);
}

/**
 * The truncated objective as the oracle's truncated() builds it: the term at t reruns cells t−k+1..t
 * from h_{t−k}, which comes from `frozen` (the unperturbed forward) and is a constant.
 */
export function naiveTruncatedLoss(inp: NaiveInput, k: number, frozen: Float64Array[][]): number {
  const { B, T } = inp;
  const all = inp.cfg.readout === 'all';
  const steps = all ? Array.from({ length: T }, (_, t) => t) : [T - 1];
  let total = 0;
  for (let b = 0; b < B; b++) {
    for (const t of steps) {
      const start = t - k >= 0 ? frozen[b][t - k] : h0Of(inp, b);
      const hs = runCells(inp, b, start, Math.max(0, t - k + 1), t + 1);
      total += ce(inp.p, inp.cfg, hs[hs.length - 1], all ? inp.targets[b * T + t] : inp.targets[b]);
    }
  }
  return total / (B * steps.length);
}

/** Central difference of f with respect to each element of `a`, perturbed in place and restored. */
export function centralDiff(a: Float64Array, f: () => number, eps = 1e-6): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const orig = a[i];
    a[i] = orig + eps;
    const up = f();
    a[i] = orig - eps;
    const down = f();
    a[i] = orig;
    out[i] = (up - down) / (2 * eps);
  }
  return out;
}
