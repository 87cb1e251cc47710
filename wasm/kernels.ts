// float64 GEMM kernels for WebAssembly SIMD (f64x2), compiled by AssemblyScript.
//
// All three products ACCUMULATE into C, on strided row-major views. Every pointer is a BYTE
// address into linear memory; every leading dimension (lda, ldb, ldc) is in ELEMENTS, as in the
// JS `Kernels` interface. The JS wrapper (src/wasmKernels.ts) turns (array, offset) pairs into
// byte pointers; it never copies arrays that already live in this memory.
//
// Design (the measured choices are recorded in docs/kernels.md):
// - x64 V8 gives wasm code 16 xmm registers and wasm SIMD has no FMA (relaxed-simd is behind a
//   flag in Node 20), so each multiply-add is a mul plus an add and needs a temporary register.
//   The micro-tiles therefore hold 8 accumulators (4x4 doubles for NN/TN, 2x4 dot products for
//   NT), which with the operands and the temporary uses 11-13 registers; a 12-accumulator tile
//   would need 16-17 and spill (not measured, see docs/kernels.md).
// - NN and TN broadcast one A element (load64_splat = a single movddup) against B row vectors:
//   the "outer product" form. NT reads both operands along k, which is contiguous in both, so it
//   uses the "dot product" form and reduces the two lanes once per tile.
// - Edges are handled by the same inlined tile templates instantiated with smaller constant
//   sizes (R rows, V vectors); binaryen folds the constant branches away, so there is no
//   per-element edge test in any inner loop and no zero padding.
// - C is loaded into the accumulators before the k loop and stored after it, which is exactly
//   "C += A·B" with one load and one store per C element per call.
// - NN and TN can pack their column-walked operands into contiguous 4-wide panels (the JS
//   wrapper decides and passes workspace): walking a column with a stride of >= 2 KiB touches a
//   new page per k, which defeats the prefetchers (7 instead of 18 GFLOP/s at N = 512).
// - Loop order and blocking: see outer() and gemmNT(). B is consumed one L1-sized panel (4
//   columns, or 4 rows for NT) at a time against an L2-sized block of A's rows, except for small
//   K where C traffic dominates and C is walked row by row.

// Multiply-add. With `--enable relaxed-simd` this becomes f64x2.relaxed_madd (FMA on x64), which
// Node 20 only accepts under --experimental-wasm-relaxed-simd; the default build uses mul + add.
// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f64x2.relaxed_madd(a, b, c);
  return f64x2.add(c, f64x2.mul(a, b));
}

// ---------------------------------------------------------------------------------------------
// Outer-product tiles shared by NN and TN: C[0..R, 0..2V] += sum_k A(r, k) * B(k, 0..2V).
// `aRow` is the byte distance between A(r, k) and A(r+1, k); `aK` between A(r, k) and A(r, k+1).
// NN: aRow = lda*8, aK = 8.  TN: aRow = 8, aK = lda*8.
// R in 1..4 and V in 1..2 must be compile-time constants (the calls below pass literals), so
// after inlining only the live accumulators remain.

// @ts-ignore: decorator
@inline function outerTile(
  R: i32, V: i32, K: i32,
  pa: usize, aRow: usize, aK: usize,
  pb: usize, sb: usize,
  pc: usize, sc: usize,
): void {
  const c0 = pc, c1 = pc + sc, c2 = pc + 2 * sc, c3 = pc + 3 * sc;
  const z = f64x2.splat(0);
  let x00 = v128.load(c0), x01 = V > 1 ? v128.load(c0, 16) : z;
  let x10 = z, x11 = z, x20 = z, x21 = z, x30 = z, x31 = z;
  if (R > 1) { x10 = v128.load(c1); if (V > 1) x11 = v128.load(c1, 16); }
  if (R > 2) { x20 = v128.load(c2); if (V > 1) x21 = v128.load(c2, 16); }
  if (R > 3) { x30 = v128.load(c3); if (V > 1) x31 = v128.load(c3, 16); }
  // Per-row A pointers, each advanced by aK per k (NN: aK = 8; TN in place: aK = lda*8; packed:
  // aK = 32). Four integer adds per k are cheap next to the 8 vector mul + 8 add.
  let a0 = pa, a1 = pa + aRow, a2 = pa + 2 * aRow, a3 = pa + 3 * aRow;
  let b = pb;
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(b);
    const b1 = V > 1 ? v128.load(b, 16) : z;
    let s = v128.load64_splat(a0);
    x00 = madd(s, b0, x00); if (V > 1) x01 = madd(s, b1, x01);
    if (R > 1) { s = v128.load64_splat(a1); x10 = madd(s, b0, x10); if (V > 1) x11 = madd(s, b1, x11); }
    if (R > 2) { s = v128.load64_splat(a2); x20 = madd(s, b0, x20); if (V > 1) x21 = madd(s, b1, x21); }
    if (R > 3) { s = v128.load64_splat(a3); x30 = madd(s, b0, x30); if (V > 1) x31 = madd(s, b1, x31); }
    a0 += aK; a1 += aK; a2 += aK; a3 += aK;
    b += sb;
  }
  v128.store(c0, x00); if (V > 1) v128.store(c0, x01, 16);
  if (R > 1) { v128.store(c1, x10); if (V > 1) v128.store(c1, x11, 16); }
  if (R > 2) { v128.store(c2, x20); if (V > 1) v128.store(c2, x21, 16); }
  if (R > 3) { v128.store(c3, x30); if (V > 1) v128.store(c3, x31, 16); }
}

// The odd last column: C[0..R, 0] += sum_k A(r, k) * B(k, 0), scalar.
// @ts-ignore: decorator
@inline function outerCol(
  R: i32, K: i32,
  pa: usize, aRow: usize, aK: usize,
  pb: usize, sb: usize,
  pc: usize, sc: usize,
): void {
  let x0 = load<f64>(pc), x1 = 0.0, x2 = 0.0, x3 = 0.0;
  if (R > 1) x1 = load<f64>(pc + sc);
  if (R > 2) x2 = load<f64>(pc + 2 * sc);
  if (R > 3) x3 = load<f64>(pc + 3 * sc);
  let a0 = pa, b = pb;
  for (let k = 0; k < K; k++) {
    const bk = load<f64>(b);
    x0 += load<f64>(a0) * bk;
    if (R > 1) x1 += load<f64>(a0 + aRow) * bk;
    if (R > 2) x2 += load<f64>(a0 + 2 * aRow) * bk;
    if (R > 3) x3 += load<f64>(a0 + 3 * aRow) * bk;
    a0 += aK;
    b += sb;
  }
  store<f64>(pc, x0);
  if (R > 1) store<f64>(pc + sc, x1);
  if (R > 2) store<f64>(pc + 2 * sc, x2);
  if (R > 3) store<f64>(pc + 3 * sc, x3);
}

// Loop order (NN, TN). Columns outermost, one 4-column panel of B at a time, rows inside: the
// panel (K x 32 bytes) stays in L1 while every 4-row block of A uses it, and when B is packed
// only that one panel is copied, into an L1-resident buffer, right before its use (copying all of
// B up front wrote and re-read it through L2/L3: 10.7 against 12.8 GFLOP/s at M=16, N=K=512).
// Rows are split into blocks of ROWS_BYTES / (K*8) rows so that A's block stays in L2 (2 MiB
// here) while the panels of B stream past it once per block (128 KiB blocks: 14.9 GFLOP/s on
// 512^3 NN, 512 KiB: 17.6).
const ROWS_BYTES = 512 * 1024;

// The tiles of one row block (R rows, a constant) against one panel: FULL = 4 columns, else the
// w = 1..3 remainder columns (two in a vector tile, an odd one in a scalar column).
// @ts-ignore: decorator
@inline function panelTile(
  R: i32, FULL: bool, w: i32, K: i32,
  qa: usize, aRow: usize, aK: usize, qb: usize, sb: usize, qc: usize, sc: usize,
): void {
  if (FULL) {
    outerTile(R, 2, K, qa, aRow, aK, qb, sb, qc, sc);
  } else {
    if (w >= 2) outerTile(R, 1, K, qa, aRow, aK, qb, sb, qc, sc);
    if (w & 1) {
      const o = <usize>(w - 1) << 3;
      outerCol(R, K, qa, aRow, aK, qb + o, sb, qc + o, sc);
    }
  }
}

// Rows [0, M) of C against one panel of B. A's 4-row block b starts at qa + b*aBlock
// (aBlock = 4*aRow in place, K*32 when A is packed).
// @ts-ignore: decorator
@inline function outerPanel(
  FULL: bool, w: i32, M: i32, K: i32,
  qa: usize, aRow: usize, aK: usize, aBlock: usize,
  qb: usize, sb: usize, qc: usize, sc: usize,
): void {
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    panelTile(4, FULL, w, K, qa, aRow, aK, qb, sb, qc, sc);
    qa += aBlock;
    qc += sc << 2;
  }
  const r = M - i;
  if (r == 1) panelTile(1, FULL, w, K, qa, aRow, aK, qb, sb, qc, sc);
  else if (r == 2) panelTile(2, FULL, w, K, qa, aRow, aK, qb, sb, qc, sc);
  else if (r == 3) panelTile(3, FULL, w, K, qa, aRow, aK, qb, sb, qc, sc);
}

// Copies columns [0, w) of K rows (stride sb bytes) to dst as a contiguous panel, 32 bytes per row.
// @ts-ignore: decorator
@inline function packPanel(K: i32, w: i32, src: usize, sb: usize, dst: usize): void {
  if (w == 4) {
    for (let k = 0; k < K; k++) {
      v128.store(dst, v128.load(src));
      v128.store(dst, v128.load(src, 16), 16);
      src += sb;
      dst += 32;
    }
  } else {
    for (let k = 0; k < K; k++) {
      for (let c = 0; c < w; c++) store<f64>(dst + (<usize>c << 3), load<f64>(src + (<usize>c << 3)));
      src += sb;
      dst += 32;
    }
  }
}

// Row-major order for small K. When K is small, the C traffic (one load and store per element
// per call) dominates, and walking C down a column of tiles (the panel order above) touches a new
// page per row: dW += da_tᵀ·h (K = batch = 16, C = 512 x 512) fell from 18 to 11 GFLOP/s. So for
// K <= SMALL_K the rows are outermost and B, if packed, is packed whole up front (cheap: K*N).
// Exported so that the JS wrapper sizes the packing workspace from the same number.
export const SMALL_K: i32 = 64;

// One block of R rows of C across all N columns. Column j of B starts at
// pb + (j >> 2) * bPanel + (j & 3) * 8: bPanel = 32 for B in place (that is just pb + j*8), and
// bPanel = K*32 for B packed into 4-column panels (see packB).
// @ts-ignore: decorator
@inline function outerRows(
  R: i32, N: i32, K: i32,
  pa: usize, aRow: usize, aK: usize,
  pb: usize, sb: usize, bPanel: usize,
  pc: usize, sc: usize,
): void {
  let j = 0;
  let qb = pb;
  for (; j + 4 <= N; j += 4) {
    outerTile(R, 2, K, pa, aRow, aK, qb, sb, pc + (<usize>j << 3), sc);
    qb += bPanel;
  }
  if (j + 2 <= N) {
    outerTile(R, 1, K, pa, aRow, aK, qb, sb, pc + (<usize>j << 3), sc);
    j += 2;
    qb += 16;
  }
  if (j < N) outerCol(R, K, pa, aRow, aK, qb, sb, pc + (<usize>j << 3), sc);
}

// The NN/TN driver. A(i, k) is at pa + (i >> 2)*aBlock + (i & 3)*aRow + k*aK. B(k, j) is at
// pb + (j >> 2)*bPanel + (j & 3)*8 + k*sb: bPanel = 32 in place, K*32 when packed whole (only
// done for K <= SMALL_K). `panel` is 0, or K*32 bytes of scratch into which each panel of B is
// packed right before its use (only for K > SMALL_K).
function outer(
  M: i32, N: i32, K: i32,
  pa: usize, aRow: usize, aK: usize, aBlock: usize,
  pb: usize, sb: usize, bPanel: usize,
  pc: usize, sc: usize, panel: usize,
): void {
  if (K <= SMALL_K) {
    let i = 0;
    let qa = pa, qc = pc;
    for (; i + 4 <= M; i += 4) {
      outerRows(4, N, K, qa, aRow, aK, pb, sb, bPanel, qc, sc);
      qa += aBlock;
      qc += sc << 2;
    }
    const r = M - i;
    if (r == 1) outerRows(1, N, K, qa, aRow, aK, pb, sb, bPanel, qc, sc);
    else if (r == 2) outerRows(2, N, K, qa, aRow, aK, pb, sb, bPanel, qc, sc);
    else if (r == 3) outerRows(3, N, K, qa, aRow, aK, pb, sb, bPanel, qc, sc);
    return;
  }
  let rows = (ROWS_BYTES / (K << 3)) & ~3;
  if (rows < 4) rows = 4;
  for (let i0 = 0; i0 < M; i0 += rows) {
    const m = min(rows, M - i0);
    const qa = pa + <usize>(i0 >> 2) * aBlock, qc = pc + <usize>i0 * sc;
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      let qb = pb + (<usize>j << 3), qsb = sb;
      if (panel != 0) {
        packPanel(K, 4, qb, sb, panel);
        qb = panel;
        qsb = 32;
      }
      outerPanel(true, 4, m, K, qa, aRow, aK, aBlock, qb, qsb, qc + (<usize>j << 3), sc);
    }
    if (j < N) {
      const w = N - j;
      let qb = pb + (<usize>j << 3), qsb = sb;
      if (panel != 0) {
        packPanel(K, w, qb, sb, panel);
        qb = panel;
        qsb = 32;
      }
      outerPanel(false, w, m, K, qa, aRow, aK, aBlock, qb, qsb, qc + (<usize>j << 3), sc);
    }
  }
}

// Why pack at all: a column panel walked down k with a large stride touches one page per k; the
// hardware prefetchers stop at page boundaries and L1 sets alias for strides that are multiples
// of 4 KiB, so the outer-product tiles ran at 7 instead of 18 GFLOP/s for N = 512 (docs/kernels.md, W5).

/** Packs X(K, N) (row stride sx bytes) into 4-column panels at dst: panel p, row k at dst + p*K*32 + k*32. */
function packAll(K: i32, N: i32, px: usize, sx: usize, dst: usize): void {
  const panel = <usize>K << 5;
  let j = 0;
  for (; j + 4 <= N; j += 4) {
    packPanel(K, 4, px + (<usize>j << 3), sx, dst);
    dst += panel;
  }
  if (j < N) packPanel(K, N - j, px + (<usize>j << 3), sx, dst);
}

/** Bytes of scratch that packing B (K x N) needs: whole for K <= SMALL_K, else one panel. */
// @ts-ignore: decorator
@inline function bPackBytes(K: i32, N: i32): usize {
  return K <= SMALL_K ? <usize>((N + 3) >> 2) * (<usize>K << 5) : <usize>K << 5;
}

/**
 * C(M,N) += A(M,K) · B(K,N). `ws` is 0, or the byte address of bPackBytes(K, N) bytes of scratch
 * memory: then B is packed into contiguous 4-column panels (worth it when several row blocks
 * reuse them, M > 4, and B's rows are far apart).
 */
export function gemmNN(
  M: i32, N: i32, K: i32, pa: usize, lda: i32, pb: usize, ldb: i32, pc: usize, ldc: i32, ws: usize,
): void {
  if (M <= 0 || N <= 0 || K <= 0) return;
  const sa = <usize>lda << 3, sb = <usize>ldb << 3, sc = <usize>ldc << 3;
  if (ws != 0 && K <= SMALL_K) {
    packAll(K, N, pb, sb, ws);
    outer(M, N, K, pa, sa, 8, sa << 2, ws, 32, <usize>K << 5, pc, sc, 0);
  } else {
    outer(M, N, K, pa, sa, 8, sa << 2, pb, sb, 32, pc, sc, ws);
  }
}

/**
 * C(M,N) += A(K,M)ᵀ · B(K,N). `ws` is 0, or the byte address of ((M+3)>>2)*K*32 +
 * bPackBytes(K, N) bytes of scratch memory: then A is packed whole into 4-row panels (its row
 * blocks are column panels of the stored A) and B as in gemmNN.
 */
export function gemmTN(
  M: i32, N: i32, K: i32, pa: usize, lda: i32, pb: usize, ldb: i32, pc: usize, ldc: i32, ws: usize,
): void {
  if (M <= 0 || N <= 0 || K <= 0) return;
  const sb = <usize>ldb << 3, sc = <usize>ldc << 3;
  if (ws == 0) {
    outer(M, N, K, pa, 8, <usize>lda << 3, 32, pb, sb, 32, pc, sc, 0);
    return;
  }
  const wb = ws + <usize>((M + 3) >> 2) * (<usize>K << 5);
  packAll(K, M, pa, <usize>lda << 3, ws);
  if (K <= SMALL_K) {
    packAll(K, N, pb, sb, wb);
    outer(M, N, K, ws, 8, 32, <usize>K << 5, wb, 32, <usize>K << 5, pc, sc, 0);
  } else {
    outer(M, N, K, ws, 8, 32, <usize>K << 5, pb, sb, 32, pc, sc, wb);
  }
}

// ---------------------------------------------------------------------------------------------
// Dot-product tiles for NT: C[r, s] += sum_k A(r, k) * B(s, k), r < R <= 2, s < S <= 4, with
// k contiguous in both operands. Each accumulator holds two partial sums (even and odd k) that
// are reduced once at the end, so this is still a plain sum over k, only reassociated.

// Reduce the lanes of two accumulators into one vector [sum(x), sum(y)].
// @ts-ignore: decorator
@inline function hsum2(x: v128, y: v128): v128 {
  return f64x2.add(v128.shuffle<f64>(x, y, 0, 2), v128.shuffle<f64>(x, y, 1, 3));
}

// @ts-ignore: decorator
@inline function hsum1(x: v128): f64 {
  return f64x2.extract_lane(x, 0) + f64x2.extract_lane(x, 1);
}

// @ts-ignore: decorator
@inline function dotTile(
  R: i32, S: i32, K: i32,
  pa: usize, sa: usize,
  pb: usize, sb: usize,
  pc: usize, sc: usize,
): void {
  const z = f64x2.splat(0);
  let x00 = z, x01 = z, x02 = z, x03 = z, x10 = z, x11 = z, x12 = z, x13 = z;
  const a0 = pa, a1 = pa + sa;
  const b0 = pb, b1 = pb + sb, b2 = pb + 2 * sb, b3 = pb + 3 * sb;
  const K2 = K & ~1;
  // o is the common byte offset along k, one vector (two k) per iteration. Unrolling to two
  // vectors per iteration needed 15 live registers and measured 15% slower (docs/kernels.md, W5).
  let o: usize = 0;
  const end2 = <usize>K2 << 3;
  for (; o < end2; o += 16) {
    const va = v128.load(a0 + o);
    let va1 = z;
    if (R > 1) va1 = v128.load(a1 + o);
    let vb = v128.load(b0 + o);
    x00 = madd(va, vb, x00); if (R > 1) x10 = madd(va1, vb, x10);
    if (S > 1) { vb = v128.load(b1 + o); x01 = madd(va, vb, x01); if (R > 1) x11 = madd(va1, vb, x11); }
    if (S > 2) { vb = v128.load(b2 + o); x02 = madd(va, vb, x02); if (R > 1) x12 = madd(va1, vb, x12); }
    if (S > 3) { vb = v128.load(b3 + o); x03 = madd(va, vb, x03); if (R > 1) x13 = madd(va1, vb, x13); }
  }
  // Odd K: the last k goes into lane 0 only (load64_zero clears lane 1), so the reduction below
  // stays uniform.
  if (K & 1) {
    const va = v128.load64_zero(a0 + o);
    let va1 = z;
    if (R > 1) va1 = v128.load64_zero(a1 + o);
    let vb = v128.load64_zero(b0 + o);
    x00 = madd(va, vb, x00); if (R > 1) x10 = madd(va1, vb, x10);
    if (S > 1) { vb = v128.load64_zero(b1 + o); x01 = madd(va, vb, x01); if (R > 1) x11 = madd(va1, vb, x11); }
    if (S > 2) { vb = v128.load64_zero(b2 + o); x02 = madd(va, vb, x02); if (R > 1) x12 = madd(va1, vb, x12); }
    if (S > 3) { vb = v128.load64_zero(b3 + o); x03 = madd(va, vb, x03); if (R > 1) x13 = madd(va1, vb, x13); }
  }
  // Reduce and accumulate into C, two columns per vector where possible.
  const c1 = pc + sc;
  if (S == 1) {
    store<f64>(pc, load<f64>(pc) + hsum1(x00));
    if (R > 1) store<f64>(c1, load<f64>(c1) + hsum1(x10));
  } else {
    v128.store(pc, f64x2.add(v128.load(pc), hsum2(x00, x01)));
    if (R > 1) v128.store(c1, f64x2.add(v128.load(c1), hsum2(x10, x11)));
    if (S == 3) {
      store<f64>(pc, load<f64>(pc, 16) + hsum1(x02), 16);
      if (R > 1) store<f64>(c1, load<f64>(c1, 16) + hsum1(x12), 16);
    } else if (S == 4) {
      v128.store(pc, f64x2.add(v128.load(pc, 16), hsum2(x02, x03)), 16);
      if (R > 1) v128.store(c1, f64x2.add(v128.load(c1, 16), hsum2(x12, x13)), 16);
    }
  }
}

// Rows [0, M) of C against S (a constant) rows of B: pairs of A rows, then an odd last row.
// @ts-ignore: decorator
@inline function dotColumns(
  S: i32, M: i32, K: i32, pa: usize, sa: usize, pb: usize, sb: usize, pc: usize, sc: usize,
): void {
  let i = 0;
  for (; i + 2 <= M; i += 2) dotTile(2, S, K, pa + <usize>i * sa, sa, pb, sb, pc + <usize>i * sc, sc);
  if (i < M) dotTile(1, S, K, pa + <usize>i * sa, sa, pb, sb, pc + <usize>i * sc, sc);
}

/** C(M,N) += A(M,K) · B(N,K)ᵀ. */
export function gemmNT(
  M: i32, N: i32, K: i32, pa: usize, lda: i32, pb: usize, ldb: i32, pc: usize, ldc: i32, ws: usize,
): void {
  if (M <= 0 || N <= 0 || K <= 0) return;
  const sa = <usize>lda << 3, sb = <usize>ldb << 3, sc = <usize>ldc << 3;
  // Same loop order as outer(): four rows of B (4*K*8 bytes, L1-resident) against a block of A's
  // rows that stays in L2, so B is read from memory once per row block instead of once per row
  // pair (W of H = 512 is 2 MiB and does not stay in L2 on its own).
  let rows = (ROWS_BYTES / (K << 3)) & ~1;
  if (rows < 2) rows = 2;
  for (let i0 = 0; i0 < M; i0 += rows) {
    const m = min(rows, M - i0);
    const qa = pa + <usize>i0 * sa, qc = pc + <usize>i0 * sc;
    let j = 0;
    for (; j + 4 <= N; j += 4) dotColumns(4, m, K, qa, sa, pb + <usize>j * sb, sb, qc + (<usize>j << 3), sc);
    const r = N - j;
    const qb = pb + <usize>j * sb, qcj = qc + (<usize>j << 3);
    if (r == 1) dotColumns(1, m, K, qa, sa, qb, sb, qcj, sc);
    else if (r == 2) dotColumns(2, m, K, qa, sa, qb, sb, qcj, sc);
    else if (r == 3) dotColumns(3, m, K, qa, sa, qb, sb, qcj, sc);
  }
}

// ---------------------------------------------------------------------------------------------
// tanh in place over a strided (rows x cols) view, two lanes at a time. Math.tanh costs 13-20 ns
// a call from JS, and at H = 128 the recurrence's tanh took a third of a forward+BPTT; this runs at
// a few ns per element. exp(2|a|) by range reduction (2|a| = k ln2 + r, |r| <= ln2/2) and a
// degree-13 Taylor polynomial (truncation < 4e-18), then tanh = 1 - 2/(e + 1); below 1e-3, where
// that subtraction cancels, the series a - a^3/3 + 2a^5/15 - 17a^7/315 instead. The sign is copied
// from a, so NaN stays NaN and +-Infinity gives +-1. Relative error against Math.tanh: < 2e-13.

const LN2_HI: f64 = 6.93147180369123816490e-01;
const LN2_LO: f64 = 1.90821492927058770002e-10;
const INV_LN2: f64 = 1.44269504088896338700e+00;
/** 2|a| is capped here: e^40 is finite, and tanh(20) already rounds to 1. */
const Y_MAX: f64 = 40.0;
const SERIES_BELOW: f64 = 1e-3;
/** 1.5 · 2^52: x + this, for 0 <= x < 2^51, is round(x) in the low bits of the mantissa. */
const ROUND_MAGIC: f64 = 6755399441055744.0;

@inline function tanh2(a: v128): v128 {
  const one = f64x2.splat(1.0);
  const x = f64x2.abs(a);
  const y = f64x2.min(f64x2.add(x, x), f64x2.splat(Y_MAX));
  // k = round(y / ln2) by the 1.5·2^52 trick: adding it rounds to an integer (to nearest) and leaves k in the
  // low bits of the sum, which give 2^k below without nearest/trunc_sat/extend (slow lowerings in V8)
  const kb = f64x2.add(f64x2.mul(y, f64x2.splat(INV_LN2)), f64x2.splat(ROUND_MAGIC));
  const k = f64x2.sub(kb, f64x2.splat(ROUND_MAGIC));
  const r = f64x2.sub(f64x2.sub(y, f64x2.mul(k, f64x2.splat(LN2_HI))), f64x2.mul(k, f64x2.splat(LN2_LO)));
  // 1 + r + r^2/2! + ... + r^13/13!
  let p = f64x2.splat(1.6059043836821613e-10);
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.08767569878681e-9));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.505210838544172e-8));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.755731922398589e-7));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.7557319223985893e-6));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.48015873015873e-5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.984126984126984e-4));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.3888888888888889e-3));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(8.333333333333333e-3));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(4.1666666666666664e-2));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(0.16666666666666666));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(0.5));
  p = f64x2.add(f64x2.mul(p, r), one);
  p = f64x2.add(f64x2.mul(p, r), one);
  // 2^k from its bits: (k + 1023) << 52, with 0 <= k <= 58; kb's bits are those of ROUND_MAGIC (low 12 bits
  // zero) plus k, and the shift drops everything above the low 12 bits
  const scale = i64x2.shl(i64x2.add(kb, i64x2.splat(1023)), 52);
  const e = f64x2.mul(p, scale);
  const big = f64x2.sub(one, f64x2.div(f64x2.splat(2.0), f64x2.add(e, one)));
  const x2 = f64x2.mul(x, x);
  let s = f64x2.mul(x2, f64x2.splat(17.0 / 315.0));
  s = f64x2.sub(f64x2.splat(2.0 / 15.0), s);
  s = f64x2.sub(f64x2.splat(1.0 / 3.0), f64x2.mul(x2, s));
  s = f64x2.mul(x, f64x2.sub(one, f64x2.mul(x2, s)));
  const t = v128.bitselect(s, big, f64x2.lt(x, f64x2.splat(SERIES_BELOW)));
  return v128.or(t, v128.and(a, i64x2.splat(0x8000000000000000)));
}

export function tanhRows(p: usize, rows: i32, cols: i32, ld: i32): void {
  for (let i = 0; i < rows; i++) {
    const row = p + (<usize>i * <usize>ld << 3);
    let j = 0;
    // two vectors per iteration: two independent dependency chains (the polynomial and the division are long)
    for (; j + 3 < cols; j += 4) {
      const q = row + (<usize>j << 3);
      const a = tanh2(v128.load(q));
      const b = tanh2(v128.load(q, 16));
      v128.store(q, a);
      v128.store(q, b, 16);
    }
    for (; j + 1 < cols; j += 2) {
      const q = row + (<usize>j << 3);
      v128.store(q, tanh2(v128.load(q)));
    }
    if (j < cols) {
      const q = row + (<usize>j << 3);
      v128.store64_lane(q, tanh2(v128.load64_zero(q)), 0);
    }
  }
}
