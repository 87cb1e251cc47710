// The portable backend: the seam's three products in plain TypeScript, float64.
// NN and TN share one i-k-j loop (they differ only in how A is strided); rows of C are
// updated two at a time with k unrolled by four, so each loaded B element feeds two rows.
import type { Gemm, Kernels } from './kernels.js';

/** C(M,N) += A·B where A(i,k) = A[aOff + i·sai + k·sak] and B, C are row-major views. */
function ikj(
  M: number,
  N: number,
  K: number,
  A: Float64Array,
  aOff: number,
  sai: number,
  sak: number,
  B: Float64Array,
  bOff: number,
  ldb: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
): void {
  const K4 = K - (K % 4);
  let i = 0;
  for (; i + 1 < M; i += 2) {
    const c0 = cOff + i * ldc;
    const c1 = c0 + ldc;
    const ar0 = aOff + i * sai;
    const ar1 = ar0 + sai;
    let k = 0;
    for (; k < K4; k += 4) {
      const a00 = A[ar0 + k * sak];
      const a01 = A[ar0 + (k + 1) * sak];
      const a02 = A[ar0 + (k + 2) * sak];
      const a03 = A[ar0 + (k + 3) * sak];
      const a10 = A[ar1 + k * sak];
      const a11 = A[ar1 + (k + 1) * sak];
      const a12 = A[ar1 + (k + 2) * sak];
      const a13 = A[ar1 + (k + 3) * sak];
      const b0 = bOff + k * ldb;
      const b1 = b0 + ldb;
      const b2 = b1 + ldb;
      const b3 = b2 + ldb;
      for (let j = 0; j < N; j++) {
        const x0 = B[b0 + j];
        const x1 = B[b1 + j];
        const x2 = B[b2 + j];
        const x3 = B[b3 + j];
        C[c0 + j] += a00 * x0 + a01 * x1 + a02 * x2 + a03 * x3;
        C[c1 + j] += a10 * x0 + a11 * x1 + a12 * x2 + a13 * x3;
      }
    }
    for (; k < K; k++) {
      const a0 = A[ar0 + k * sak];
      const a1 = A[ar1 + k * sak];
      const b0 = bOff + k * ldb;
      for (let j = 0; j < N; j++) {
        const x = B[b0 + j];
        C[c0 + j] += a0 * x;
        C[c1 + j] += a1 * x;
      }
    }
  }
  if (i < M) {
    const c0 = cOff + i * ldc;
    const ar0 = aOff + i * sai;
    let k = 0;
    for (; k < K4; k += 4) {
      const a0 = A[ar0 + k * sak];
      const a1 = A[ar0 + (k + 1) * sak];
      const a2 = A[ar0 + (k + 2) * sak];
      const a3 = A[ar0 + (k + 3) * sak];
      const b0 = bOff + k * ldb;
      const b1 = b0 + ldb;
      const b2 = b1 + ldb;
      const b3 = b2 + ldb;
      for (let j = 0; j < N; j++) C[c0 + j] += a0 * B[b0 + j] + a1 * B[b1 + j] + a2 * B[b2 + j] + a3 * B[b3 + j];
    }
    for (; k < K; k++) {
      const a0 = A[ar0 + k * sak];
      const b0 = bOff + k * ldb;
      for (let j = 0; j < N; j++) C[c0 + j] += a0 * B[b0 + j];
    }
  }
}

/** C(M,N) += A(M,K)·B(N,K)ᵀ as dot products, a 2×2 block of C at a time. */
const dotNT: Gemm = (M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc) => {
  let i = 0;
  for (; i + 1 < M; i += 2) {
    const a0 = aOff + i * lda;
    const a1 = a0 + lda;
    const c0 = cOff + i * ldc;
    const c1 = c0 + ldc;
    let j = 0;
    for (; j + 1 < N; j += 2) {
      const b0 = bOff + j * ldb;
      const b1 = b0 + ldb;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k];
        const x1 = A[a1 + k];
        const y0 = B[b0 + k];
        const y1 = B[b1 + k];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      C[c0 + j] += s00;
      C[c0 + j + 1] += s01;
      C[c1 + j] += s10;
      C[c1 + j + 1] += s11;
    }
    if (j < N) {
      const b0 = bOff + j * ldb;
      let s0 = 0;
      let s1 = 0;
      for (let k = 0; k < K; k++) {
        const y = B[b0 + k];
        s0 += A[a0 + k] * y;
        s1 += A[a1 + k] * y;
      }
      C[c0 + j] += s0;
      C[c1 + j] += s1;
    }
  }
  if (i < M) {
    const a0 = aOff + i * lda;
    const c0 = cOff + i * ldc;
    let j = 0;
    for (; j + 1 < N; j += 2) {
      const b0 = bOff + j * ldb;
      const b1 = b0 + ldb;
      let s0 = 0;
      let s1 = 0;
      for (let k = 0; k < K; k++) {
        const x = A[a0 + k];
        s0 += x * B[b0 + k];
        s1 += x * B[b1 + k];
      }
      C[c0 + j] += s0;
      C[c0 + j + 1] += s1;
    }
    if (j < N) {
      const b0 = bOff + j * ldb;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[a0 + k] * B[b0 + k];
      C[c0 + j] += s;
    }
  }
};

export const jsKernels: Kernels = {
  name: 'js',
  reusesMemory: false,
  // one backing store per call, cut into views: a typed array allocation costs far more than a view
  alloc: (lengths) => {
    const all = new Float64Array(lengths.reduce((s, n) => s + n, 0));
    let o = 0;
    return lengths.map((n) => {
      const view = all.subarray(o, o + n);
      o += n;
      return view;
    });
  },
  release: () => {},
  gemmNT: dotNT,
  gemmNN: (M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc) =>
    ikj(M, N, K, A, aOff, lda, 1, B, bOff, ldb, C, cOff, ldc),
  gemmTN: (M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc) =>
    ikj(M, N, K, A, aOff, 1, lda, B, bOff, ldb, C, cOff, ldc),
};
