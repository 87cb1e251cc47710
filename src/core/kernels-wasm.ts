// The WebAssembly SIMD backend of the kernel seam: float64 GEMMs compiled from wasm/kernels.ts
// (AssemblyScript, f64x2), called on byte pointers into one linear memory. It takes the module's
// bytes; reading them from disk is src/kernels.ts's job (the core imports nothing from node).
//
// Memory design (docs/kernels.md records the alternatives that were weighed):
// - The module imports a SHARED WebAssembly.Memory. Growing a shared memory never detaches the
//   SharedArrayBuffers handed out before, so every Float64Array that alloc() returned stays valid
//   when a later alloc() or a gemm on foreign arrays grows the memory. (With a non-shared memory
//   every grow detaches all views, which would force "grow only when nothing is outstanding" or
//   a throw in the middle of a request.) The cost: the views are backed by SharedArrayBuffers,
//   so postMessage shares them instead of copying; copy results out (slice()) before sending.
// - alloc() is a bump allocator over the memory, one frame per call; release() pops the most
//   recent frame and checks that it is given that frame's buffers (LIFO), throwing otherwise.
// - Arrays that are not in this memory (a plain Float64Array from the caller) still work: the
//   strided view is copied compactly into scratch space just above the allocation top, the kernel
//   runs there, and C is copied back. That is correct but costs O(size) copies per call.
// - Every gemm checks that its views lie inside their arrays: the kernels write raw memory, so an
//   out-of-range view would otherwise silently corrupt a neighbouring buffer.

import type { Gemm, Kernels } from './kernels.js';
import { checkGemm, checkView } from './views.js';

const PAGE = 65536;
/** Byte address where allocations start: keeps pointer 0 unused, like a null page. */
const BASE = 1024;
/** Buffers start on cache-line boundaries, so row 0 of a view never straddles two lines. */
const ALIGN = 64;
/** The module declares its memory with at most 65536 pages (4 GiB, the wasm32 limit). */
const MAX_PAGES = 65536;
/** Pages committed up front (16 MiB): growth later is safe, this only saves grow calls. */
const INITIAL_PAGES = (16 * 2 ** 20) / PAGE;

/** The last argument is the byte address of packing workspace, or 0 for none (gemmNT ignores it). */
type WasmGemm = (
  M: number,
  N: number,
  K: number,
  a: number,
  lda: number,
  b: number,
  ldb: number,
  c: number,
  ldc: number,
  ws: number,
) => void;

interface Exports {
  tanhRows: (p: number, rows: number, cols: number, ld: number) => void;
  gemmNN: WasmGemm;
  gemmNT: WasmGemm;
  gemmTN: WasmGemm;
  /** Up to this K, gemmNN/gemmTN pack B whole (else one panel at a time): sizes the workspace. */
  SMALL_K: { value: number };
}

export class WasmKernels implements Kernels {
  readonly name = 'wasm';
  readonly reusesMemory = true;
  readonly memory: WebAssembly.Memory;
  private readonly maxBytes: number;
  private readonly ex: Exports;
  private readonly smallK: number;
  /** The current SharedArrayBuffer of the memory, and all earlier ones (still valid after a grow). */
  private buf: SharedArrayBuffer;
  private readonly older: SharedArrayBuffer[] = [];
  /** A Float64Array over the whole current memory, used to copy foreign arrays in and out. */
  private all: Float64Array;
  /** First free byte; memory above it is scratch. */
  private top = BASE;
  /** Every byte at or above this one is still zero (fresh memory), so alloc need not clear it. */
  private clean = BASE;
  /** One entry per outstanding alloc(): its start byte and its first buffer (for the LIFO check). */
  private readonly frames: { start: number; count: number; first: Float64Array | undefined }[] = [];

  constructor(module: WebAssembly.Module) {
    this.maxBytes = MAX_PAGES * PAGE;
    this.memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.ex = instance.exports as unknown as Exports;
    this.smallK = this.ex.SMALL_K.value;
    this.buf = this.memory.buffer as SharedArrayBuffer;
    this.all = new Float64Array(this.buf);
  }

  /** True if arr is a view on this memory (any generation), so the kernels can address it in place. */
  private owns(arr: Float64Array): boolean {
    const b = arr.buffer;
    return b === this.buf || (this.older.length > 0 && this.older.includes(b as SharedArrayBuffer));
  }

  /** Makes the memory at least `end` bytes long. Views handed out earlier stay valid (shared memory). */
  private ensure(end: number): void {
    const have = this.buf.byteLength;
    if (end <= have) return;
    if (end > this.maxBytes) {
      throw new RangeError(`wasm kernels: need ${end} bytes of memory, the maximum is ${this.maxBytes}`);
    }
    // Grow geometrically so that a sequence of growing requests costs amortized O(1) grows.
    const want = Math.min(this.maxBytes, Math.max(end, have * 2));
    this.memory.grow(Math.ceil((want - have) / PAGE));
    this.older.push(this.buf);
    this.buf = this.memory.buffer as SharedArrayBuffer;
    this.all = new Float64Array(this.buf);
  }

  alloc(lengths: readonly number[]): Float64Array[] {
    const start = this.top;
    const offsets: number[] = [];
    let p = start;
    for (const n of lengths) {
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`alloc: bad length ${n}`);
      p = Math.ceil(p / ALIGN) * ALIGN;
      offsets.push(p);
      p += n * 8;
    }
    this.ensure(p);
    const out: Float64Array[] = [];
    for (let i = 0; i < lengths.length; i++) {
      const view = new Float64Array(this.buf, offsets[i], lengths[i]);
      // Memory below `clean` may hold data of released buffers or of gemm scratch.
      if (offsets[i] < this.clean) view.fill(0);
      out.push(view);
    }
    this.top = p;
    if (p > this.clean) this.clean = p;
    this.frames.push({ start, count: out.length, first: out[0] });
    return out;
  }

  release(buffers: readonly Float64Array[]): void {
    const f = this.frames[this.frames.length - 1];
    if (f === undefined || buffers.length !== f.count || (f.count > 0 && buffers[0] !== f.first)) {
      throw new Error('release: these buffers are not the most recent outstanding alloc() (release is LIFO)');
    }
    this.frames.pop();
    this.top = f.start;
  }

  tanh(A: Float64Array, off: number, ld: number, rows: number, cols: number): void {
    if (rows <= 0 || cols <= 0) return;
    checkView('tanh A', A, off, ld, rows, cols);
    if (this.owns(A)) {
      this.ex.tanhRows(A.byteOffset + off * 8, rows, cols, ld);
      return;
    }
    // an array outside this memory: compact copy into scratch, tanh, copy back
    const at = Math.ceil(this.top / ALIGN) * ALIGN;
    this.scratch(at, rows * cols * 8);
    this.copyIn(A, off, ld, rows, cols, at);
    this.ex.tanhRows(at, rows, cols, cols);
    const base = at / 8;
    for (let i = 0; i < rows; i++) A.set(this.all.subarray(base + i * cols, base + (i + 1) * cols), off + i * ld);
  }

  readonly gemmNT: Gemm = (M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc) => {
    if (!checkGemm('gemmNT', M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc)) return;
    this.run(this.ex.gemmNT, M, N, K, A, aOff, lda, M, K, B, bOff, ldb, N, K, C, cOff, ldc, 0);
  };

  readonly gemmNN: Gemm = (M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc) => {
    if (!checkGemm('gemmNN', M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc)) return;
    const ws = this.packNN(M, ldb) ? this.bPackBytes(K, N) : 0;
    this.run(this.ex.gemmNN, M, N, K, A, aOff, lda, M, K, B, bOff, ldb, K, N, C, cOff, ldc, ws);
  };

  readonly gemmTN: Gemm = (M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc) => {
    if (!checkGemm('gemmTN', M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc)) return;
    // Packing needs all of A in 4-row panels, plus B's panels.
    const ws = this.packTN(M, N, lda, ldb) ? Math.ceil(M / 4) * K * 32 + this.bPackBytes(K, N) : 0;
    this.run(this.ex.gemmTN, M, N, K, A, aOff, lda, K, M, B, bOff, ldb, K, N, C, cOff, ldc, ws);
  };

  /**
   * Bytes of scratch that the module needs to pack a K x N operand B of gemmNN/gemmTN: all of it
   * for K <= SMALL_K, else one 4-column panel (K*32).
   */
  private bPackBytes(K: number, N: number): number {
    return K <= this.smallK ? Math.ceil(N / 4) * K * 32 : K * 32;
  }

  /**
   * Whether gemmNN should pack B: when several 4-row blocks reuse it (M > 4) and its rows are
   * far apart. Measured thresholds: docs/kernels.md, W3.
   */
  private packNN(M: number, ldb: number): boolean {
    return M > 4 && ldb >= 256;
  }

  /** Whether gemmTN should pack A and B: same reasoning, skipped for tiny products (M*N < 1024). */
  private packTN(M: number, N: number, lda: number, ldb: number): boolean {
    return M > 4 && M * N >= 1024 && (lda >= 128 || ldb >= 128);
  }

  /**
   * Calls the kernel in place when all three arrays live in this memory, else via scratch copies.
   * `wsBytes` of packing workspace (0 for none) are provided above the allocation top.
   */
  private run(
    fn: WasmGemm,
    M: number,
    N: number,
    K: number,
    A: Float64Array,
    aOff: number,
    lda: number,
    aRows: number,
    aCols: number,
    B: Float64Array,
    bOff: number,
    ldb: number,
    bRows: number,
    bCols: number,
    C: Float64Array,
    cOff: number,
    ldc: number,
    wsBytes: number,
  ): void {
    const aIn = this.owns(A),
      bIn = this.owns(B),
      cIn = this.owns(C);
    if (aIn && bIn && cIn) {
      const ws = wsBytes > 0 ? this.scratch(Math.ceil(this.top / ALIGN) * ALIGN, wsBytes) : 0;
      fn(M, N, K, A.byteOffset + aOff * 8, lda, B.byteOffset + bOff * 8, ldb, C.byteOffset + cOff * 8, ldc, ws);
      return;
    }
    // Scratch lies above `top`: nothing is allocated there, so it needs no release. Growing here
    // is safe because growth of a shared memory keeps earlier views valid.
    const round = (n: number) => Math.ceil(n / ALIGN) * ALIGN;
    const aAt = round(this.top);
    const bAt = aAt + (aIn ? 0 : round(aRows * aCols * 8));
    const cAt = bAt + (bIn ? 0 : round(bRows * bCols * 8));
    const wsAt = cAt + (cIn ? 0 : round(M * N * 8));
    this.scratch(aAt, wsAt + wsBytes - aAt);
    const pa = aIn ? A.byteOffset + aOff * 8 : this.copyIn(A, aOff, lda, aRows, aCols, aAt);
    const pb = bIn ? B.byteOffset + bOff * 8 : this.copyIn(B, bOff, ldb, bRows, bCols, bAt);
    const pc = cIn ? C.byteOffset + cOff * 8 : this.copyIn(C, cOff, ldc, M, N, cAt);
    fn(M, N, K, pa, aIn ? lda : aCols, pb, bIn ? ldb : bCols, pc, cIn ? ldc : N, wsBytes > 0 ? wsAt : 0);
    if (!cIn) {
      const all = this.all,
        base = cAt / 8;
      for (let i = 0; i < M; i++) C.set(all.subarray(base + i * N, base + (i + 1) * N), cOff + i * ldc);
    }
  }

  /** Makes [at, at + bytes) usable as scratch (above `top`); returns `at`. */
  private scratch(at: number, bytes: number): number {
    const end = at + bytes;
    if (end > this.buf.byteLength) this.ensure(end);
    if (end > this.clean) this.clean = end;
    return at;
  }

  /** Copies a strided view into memory at byte `at` as a compact (ld = cols) matrix; returns `at`. */
  private copyIn(arr: Float64Array, off: number, ld: number, rows: number, cols: number, at: number): number {
    const all = this.all,
      base = at / 8;
    if (ld === cols) all.set(arr.subarray(off, off + rows * cols), base);
    else for (let i = 0; i < rows; i++) all.set(arr.subarray(off + i * ld, off + i * ld + cols), base + i * cols);
    return at;
  }
}

/** The backend from the module's bytes (or an already compiled module). */
export function createWasmKernels(source: ArrayBufferView | ArrayBuffer | WebAssembly.Module): WasmKernels {
  const module = source instanceof WebAssembly.Module ? source : new WebAssembly.Module(source);
  return new WasmKernels(module);
}
