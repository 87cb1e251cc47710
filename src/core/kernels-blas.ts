// The native backend: the seam's products on OpenBLAS (native/blas.c, a small N-API addon), for all but the
// smallest products, which a call into native code costs more than: those, and the buffers, stay with a
// portable backend. Loading the addon is src/kernels.ts's job; the core only receives its gemm function.
import type { Kernels } from './kernels.js';
import { checkView } from './views.js';

/** The addon's one function: C += op(A)·op(B), op 0 = NN, 1 = NT, 2 = TN, on strided row-major views. */
export type BlasGemm = (
  op: 0 | 1 | 2,
  M: number,
  N: number,
  K: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  B: Float64Array,
  bOff: number,
  ldb: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
) => void;

/**
 * Below this many multiply-adds (M·N·K) a product stays on the portable kernels: measured here, a
 * 5×10×7 product costs 285 ns through the addon and 152 ns in wasm, and from 32×64×32 the addon runs
 * at 46–52 GFLOP/s against wasm's 19–20.
 */
export const BLAS_MIN_WORK = 4096;

export function createBlasKernels(gemm: BlasGemm, small: Kernels): Kernels {
  return {
    name: `blas+${small.name}`,
    reusesMemory: small.reusesMemory,
    alloc: (lengths) => small.alloc(lengths),
    release: (buffers) => small.release(buffers),
    ...(small.tanh ? { tanh: small.tanh.bind(small) } : {}),
    gemmNN(M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc) {
      if (M * N * K < BLAS_MIN_WORK) return small.gemmNN(M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc);
      // the addon writes raw memory: a view that does not fit its array must be an error, not corruption
      checkView('gemmNN A', A, aOff, lda, M, K);
      checkView('gemmNN B', B, bOff, ldb, K, N);
      checkView('gemmNN C', C, cOff, ldc, M, N);
      gemm(0, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc);
    },
    gemmNT(M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc) {
      if (M * N * K < BLAS_MIN_WORK) return small.gemmNT(M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc);
      checkView('gemmNT A', A, aOff, lda, M, K);
      checkView('gemmNT B', B, bOff, ldb, N, K);
      checkView('gemmNT C', C, cOff, ldc, M, N);
      gemm(1, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc);
    },
    gemmTN(M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc) {
      if (M * N * K < BLAS_MIN_WORK) return small.gemmTN(M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc);
      checkView('gemmTN A', A, aOff, lda, K, M);
      checkView('gemmTN B', B, bOff, ldb, K, N);
      checkView('gemmTN C', C, cOff, ldc, M, N);
      gemm(2, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc);
    },
  };
}
