// Kernel memory for one call of the core: the model and the batch copied into buffers the kernels address,
// the batch reordered time major on the way in, and results copied back out (batch first) before release.
//
// Inside the core every (B, T, ·) tensor is time major, row t·B + b: each step's B rows are one contiguous
// block, and h_{t−1} for every row is the same matrix shifted up by B rows (docs/kernels.md, B1 says why).
// The caller's layout stays batch first, row b·T + t; the reordering rides on the copies that a backend
// with its own memory needs anyway.
import { NonFiniteError } from './errors.js';
import type { Kernels } from './kernels.js';
import type { ElmanModel } from './model.js';

export interface Batch {
  readonly x: Float64Array; // (B, T, d)
  readonly B: number;
  readonly T: number;
  readonly h0?: Float64Array | null; // (B, H); zeros when absent
}

export interface Workspace<N extends string> {
  /** The model with its parameters in kernel memory. */
  model: ElmanModel;
  x: Float64Array; // (T·B, d), time major
  h0: Float64Array | null; // (B, H)
  /** The named work buffers, zero-filled. */
  work: Record<N, Float64Array>;
  /** A result the caller may keep: a copy when the backend reuses its memory. */
  keep(a: Float64Array): Float64Array;
  /** A time-major (T·B, width) buffer as a new batch-first (B, T, width) array. */
  batchFirst(a: Float64Array, width: number): Float64Array;
  release(): void;
}

/** Buffers in the kernels' memory for one call: the model, the batch (x time major), and the named work arrays. */
export function workspace<N extends string>(
  K: Kernels,
  model: ElmanModel,
  batch: Batch,
  sizes: Record<N, number>,
): Workspace<N> {
  const p = model.params;
  const { B, T } = batch;
  const names = Object.keys(sizes) as N[];
  const bufs = K.alloc([
    p.U.length,
    p.W.length,
    p.bW.length,
    p.V.length,
    p.bV.length,
    batch.x.length,
    batch.h0?.length ?? 0,
    ...names.map((n) => sizes[n]),
  ]);
  const [U, W, bW, V, bV, x, h0] = bufs;
  U.set(p.U);
  W.set(p.W);
  bW.set(p.bW);
  V.set(p.V);
  bV.set(p.bV);
  reorder(batch.x, x, B, T, model.config.inputSize);
  if (batch.h0) h0.set(batch.h0);
  const work = {} as Record<N, Float64Array>;
  names.forEach((n, i) => {
    work[n] = bufs[7 + i];
  });
  return {
    model: { config: model.config, params: { U, W, bW, V, bV } },
    x,
    h0: batch.h0 ? h0 : null,
    work,
    // a result may be a work buffer itself unless the backend reuses its memory after release
    keep: K.reusesMemory ? copy : (a) => a,
    batchFirst: (a, width) => {
      const out = new Float64Array(B * T * width);
      reorder(a, out, T, B, width);
      return out;
    },
    release: () => K.release(bufs),
  };
}

/** A copy in ordinary memory: slice() of a view on shared (wasm) memory is 4× slower than new + set (measured, B2). */
export function copy(a: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  out.set(a);
  return out;
}

/** dst (Q, P, w) = src (P, Q, w) with its first two axes swapped: batch first ↔ time major. */
export function reorder(src: Float64Array, dst: Float64Array, P: number, Q: number, w: number): void {
  for (let p = 0; p < P; p++) {
    for (let q = 0; q < Q; q++) {
      const s = (p * Q + q) * w;
      const o = (q * P + p) * w;
      for (let i = 0; i < w; i++) dst[o + i] = src[s + i];
    }
  }
}

/** Throws for the first non-finite element of a time-major (T·B, w) buffer, in batch-first order [b, t, i]. */
export function assertFiniteTimeMajor(name: string, a: Float64Array, B: number, T: number, w: number): void {
  // one pass in memory order; only a failure pays for the search in batch-first order
  let ok = true;
  for (let q = 0; q < B * T * w; q++) {
    const v = a[q];
    if (v - v !== 0) {
      ok = false;
      break;
    }
  }
  if (ok) return;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const o = (t * B + b) * w;
      for (let i = 0; i < w; i++) {
        const v = a[o + i];
        // v − v is NaN exactly when v is ±Infinity or NaN
        if (v - v !== 0) throw new NonFiniteError(name, [b, t, i], v);
      }
    }
  }
}
