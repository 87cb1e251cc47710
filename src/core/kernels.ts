// The kernel seam: the three matrix products BPTT spends its time in, over row-major Float64Arrays.
// A faster backend (WebAssembly, BLAS) replaces this object; elman.ts and jacobian.ts never change.
//
// Every product accumulates, C += op(A)·op(B), on strided row-major views:
// element (i, k) of a view (arr, off, ld) is arr[off + i*ld + k].

export type GemmOp = 'gemmNT' | 'gemmNN' | 'gemmTN';

/** One product: C(M,N) += op(A)·op(B), each operand an (array, offset, leading dimension) view. */
export type Gemm = (
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

export interface Kernels {
  readonly name: string;
  /** True when alloc hands out memory that later calls reuse, so results must be copied out before release. */
  readonly reusesMemory: boolean;
  /** Zero-filled buffers that the kernels can address directly (a backend may place them in its own memory). */
  alloc(lengths: readonly number[]): Float64Array[];
  /** Gives back the buffers of the matching alloc, in reverse order of allocation. */
  release(buffers: readonly Float64Array[]): void;
  /** Optional: tanh in place on the (rows, cols) view; without it the core calls Math.tanh per element. */
  tanh?(A: Float64Array, off: number, ld: number, rows: number, cols: number): void;
  /** C(M,N) += A(M,K) · B(N,K)ᵀ */
  readonly gemmNT: Gemm;
  /** C(M,N) += A(M,K) · B(K,N) */
  readonly gemmNN: Gemm;
  /** C(M,N) += A(K,M)ᵀ · B(K,N) */
  readonly gemmTN: Gemm;
}
