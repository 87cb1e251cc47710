// The native backend: the seam's products on OpenBLAS (native/blas.c, a small N-API addon), for all but the
// smallest products, which a call into native code costs more than: those, and the buffers, stay with a
// portable backend. Loading the addon is src/kernels.ts's job; the core only receives its gemm function.
import type { Gemm, GemmOp, Kernels } from './kernels.js';
import { checkGemm } from './views.js';

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

const OP_CODE = { gemmNN: 0, gemmNT: 1, gemmTN: 2 } as const;

export function createBlasKernels(gemm: BlasGemm, small: Kernels): Kernels {
  // small products to the portable backend; the rest, bounds-checked (the addon writes raw memory), to OpenBLAS
  const routed =
    (op: GemmOp): Gemm =>
    (M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc) => {
      if (M * N * K < BLAS_MIN_WORK) return small[op](M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc);
      if (checkGemm(op, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc))
        gemm(OP_CODE[op], M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc);
    };
  return {
    name: `blas+${small.name}`,
    reusesMemory: small.reusesMemory,
    alloc: (lengths) => small.alloc(lengths),
    release: (buffers) => small.release(buffers),
    ...(small.tanh ? { tanh: small.tanh.bind(small) } : {}),
    gemmNN: routed('gemmNN'),
    gemmNT: routed('gemmNT'),
    gemmTN: routed('gemmTN'),
  };
}
