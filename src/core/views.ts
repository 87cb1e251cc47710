// Bounds checks shared by the kernel backends that write raw memory (wasm, OpenBLAS). Cheap (a few comparisons per gemm call), and they
// turn an out-of-range view into an error instead of NaNs (JS) or silent corruption (wasm).
import type { GemmOp } from './kernels.js';

/**
 * Throws unless the strided view (rows x cols at off, leading dimension ld) lies inside arr.
 * Offsets and strides must be integers (the wasm backend turns them into byte pointers), and rows
 * may not overlap (ld >= cols) unless there is only one row.
 */
export function checkView(what: string, arr: Float64Array, off: number, ld: number, rows: number, cols: number): void {
  if (
    !(
      Number.isInteger(off) &&
      Number.isInteger(ld) &&
      off >= 0 &&
      (ld >= cols || rows <= 1) &&
      off + (rows - 1) * ld + cols <= arr.length
    )
  ) {
    throw new RangeError(
      `${what}: view ${rows}x${cols} at offset ${off} with ld ${ld} does not fit in an array of length ${arr.length}`,
    );
  }
}

/** Checks the three views of a product; false when it is empty (nothing to do). */
export function checkGemm(
  op: GemmOp,
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
): boolean {
  if (M <= 0 || N <= 0 || K <= 0) return false;
  // A is (M, K), or (K, M) for TN; B is (K, N), or (N, K) for NT (no arrays: this runs on every call)
  const tn = op === 'gemmTN';
  const nt = op === 'gemmNT';
  checkView(`${op} A`, A, aOff, lda, tn ? K : M, tn ? M : K);
  checkView(`${op} B`, B, bOff, ldb, nt ? N : K, nt ? K : N);
  checkView(`${op} C`, C, cOff, ldc, M, N);
  return true;
}
