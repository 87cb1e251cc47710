// Backpropagation through time: the forward loop of elman.ts run in reverse, one commented step per line.
import {
  actGrad,
  type Batch,
  checkBatch,
  checkTargets,
  EMPTY,
  type ForwardResult,
  lastStep,
  type RunOptions,
  readout,
  recur,
  resultShapes,
} from './elman.js';
import { NonFiniteError, ShapeError } from './errors.js';
import type { Kernels } from './kernels.js';
import { jsKernels } from './kernels-js.js';
import { crossEntropy, softmaxRows } from './loss.js';
import type { ElmanModel, Params } from './model.js';
import { assertFinite } from './tensor.js';
import { assertFiniteTimeMajor, reorder, workspace } from './workspace.js';

export interface BpttOptions extends RunOptions {
  /** Truncated BPTT: a loss term reaches the parameters through at most this many cell applications. */
  truncate?: number;
  /** Also compute dL/dx (one more product per step). */
  wantDx?: boolean;
}

export interface BpttResult extends ForwardResult {
  loss: number;
  grads: Params; // dloss/dθ, shaped like the parameters
  dh: Float64Array; // (B, T, H): total dloss/dh_t, from every later step (empty when skipped)
  dh0: Float64Array; // (B, H)
  dx?: Float64Array; // (B, T, d), when wantDx
}

// every (T·B, ·) buffer is time major: step t is the block of rows t·B .. t·B + B − 1
type Work = Record<'h' | 'dh' | 'da' | 'dU' | 'dW' | 'dbW' | 'dh0' | 'dx' | 'slots', Float64Array>;

export function bptt(model: ElmanModel, batch: Batch, targets: ArrayLike<number>, opts: BpttOptions = {}): BpttResult {
  checkBatch(model, batch);
  const n = checkTargets(model, batch, targets);
  const k = opts.truncate ?? batch.T;
  if (!(Number.isInteger(k) && k >= 1))
    throw new ShapeError(`truncate must be a positive integer, got ${k}`, ['truncate']);
  const K = opts.kernels ?? jsKernels;
  const { inputSize: d, hiddenSize: H, outputSize: C } = model.config;
  const { B, T } = batch;
  const all = model.config.readout === 'all';
  // full BPTT whose dh nobody reads: da_t overwrites dh_t in place (one (B, T, H) buffer less to clear,
  // write and check); dh_t is checked step by step before, and a non-finite one reruns without this
  const inPlace = k >= T && (opts.skip?.includes('dh') ?? false);
  const ws = workspace(K, model, batch, {
    h: B * T * H,
    logits: n * C,
    y: n * C,
    dlogits: n * C,
    tm: all ? n * C : 0, // readout "all": logits and dlogits time major
    dU: H * d,
    dW: H * H,
    dbW: H,
    dV: C * H,
    dbV: C,
    dh: B * T * H,
    dh0: B * H,
    dx: opts.wantDx ? B * T * d : 0,
    da: inPlace ? 0 : B * T * H,
    slots: k < T ? 2 * k * B * H : 0, // truncated BPTT only: one dh per loss term still inside its window
  });
  try {
    const w = ws.work;
    if (inPlace) w.da = w.dh;
    const { h, logits, y, dlogits, tm, dV, dbV, dh } = w;
    const { V } = ws.model.params;
    recur(ws.model, B, T, K, ws.x, ws.h0, h, opts.check);
    readout(ws.model, K, h, B, T, logits, tm);
    const shapes = resultShapes(model.config, B, T);
    assertFinite('logits', logits, shapes.logits);

    // dlogits = (softmax(logits) − onehot(targets)) / n
    const lossValue = crossEntropy(logits, targets, n, C, dlogits);
    if (!Number.isFinite(lossValue)) throw new NonFiniteError('loss', [], lossValue);
    // dbV = Σ dlogits
    for (let r = 0; r < n; r++) for (let c = 0; c < C; c++) dbV[c] += dlogits[r * C + c];
    if (all) {
      // dV = dlogitsᵀ h over every step, and each h_t receives its own dlogits_t V (time major, as h)
      reorder(dlogits, tm, B, T, C);
      K.gemmTN(C, H, n, tm, 0, C, h, 0, H, dV, 0, H);
      K.gemmNN(n, H, C, tm, 0, C, V, 0, H, dh, 0, H);
    } else {
      // dV = dlogitsᵀ h_{T-1}, and h_{T-1} receives dlogits V
      K.gemmTN(C, H, B, dlogits, 0, C, h, (T - 1) * B * H, H, dV, 0, H);
      K.gemmNN(B, H, C, dlogits, 0, C, V, 0, H, dh, (T - 1) * B * H, H);
    }

    // the recurrence backwards leaves da_t for every step; then the parameters take one product each
    const from =
      k >= T ? fullBackward(ws.model, B, T, K, w, opts, inPlace) : truncatedBackward(ws.model, B, T, K, w, k, opts);
    // a non-finite dh_t: the error names its first element in batch-first order, which needs all of dh
    if (from < 0) return bptt(model, batch, targets, { ...opts, skip: opts.skip?.filter((s) => s !== 'dh') });
    paramGrads(ws.model, B, T, K, ws.x, ws.h0, w, from, opts.wantDx ?? false);

    const { keep } = ws;
    const grads: Params = { U: keep(w.dU), W: keep(w.dW), bW: keep(w.dbW), V: keep(dV), bV: keep(dbV) };
    assertFinite('grads.U.weight', grads.U, [H, d]);
    assertFinite('grads.W.weight', grads.W, [H, H]);
    assertFinite('grads.W.bias', grads.bW, [H]);
    assertFinite('grads.V.weight', grads.V, [C, H]);
    assertFinite('grads.V.bias', grads.bV, [C]);
    if (!inPlace) assertFiniteTimeMajor('dh', dh, B, T, H);
    assertFinite('dh0', w.dh0, shapes.dh0);
    if (opts.wantDx) assertFiniteTimeMajor('dx', w.dx, B, T, d);

    softmaxRows(logits, n, C, y);
    return {
      h: opts.skip?.includes('h') ? EMPTY : ws.batchFirst(h, H),
      hT: lastStep(h, B, T, H),
      logits: keep(logits),
      y: keep(y),
      loss: lossValue,
      grads,
      dh: opts.skip?.includes('dh') ? EMPTY : ws.batchFirst(dh, H),
      dh0: keep(w.dh0),
      dx: opts.wantDx ? ws.batchFirst(w.dx, d) : undefined,
    };
  } finally {
    ws.release();
  }
}

/**
 * Full BPTT, as min-char-rnn: dh_t arrives holding its readout gradient, and each step passes dh_{t−1}
 * back through W. That product is the only sequential one; da_t is kept for paramGrads. Returns the
 * first step whose da is set (0), or −1 when `inPlace` (da is dh) and a dh_t is not finite.
 */
function fullBackward(
  m: ElmanModel,
  B: number,
  T: number,
  K: Kernels,
  w: Work,
  opts: BpttOptions,
  inPlace: boolean,
): number {
  const H = m.config.hiddenSize;
  const { W } = m.params;
  const relu = m.config.activation === 'relu';
  const { h, dh, da, dh0 } = w;
  const BH = B * H;
  for (let t = T - 1; t >= 0; t--) {
    opts.check?.();
    // dh_t is complete here; in place, this is the last chance to check it
    if (inPlace && !finite(dh, t * BH, BH)) return -1;
    // da_t = dh_t ⊙ act'(a_t)
    actGrad(relu, dh, t * BH, h, t * BH, da, t * BH, BH);
    // dh_{t−1} += da_t W  (h_{−1} = h0: dh0 = da_0 W)
    if (t > 0) K.gemmNN(B, H, H, da, t * BH, H, W, 0, H, dh, (t - 1) * BH, H);
    else K.gemmNN(B, H, H, da, 0, H, W, 0, H, dh0, 0, H);
  }
  return 0;
}

/** True when a[off .. off + n) holds only finite numbers. */
function finite(a: Float64Array, off: number, n: number): boolean {
  // v − v is NaN exactly when v is ±Infinity or NaN
  for (let q = off; q < off + n; q++) if (a[q] - a[q] !== 0) return false;
  return true;
}

/**
 * The parameter gradients from da (T·B, H), one product each over the rows of steps from..T−1:
 * dbW = Σ da,  dU = daᵀ x,  dW = Σ_t da_tᵀ h_{t−1},  dx = da U.
 * Time major, h_{t−1} for the rows of steps ≥ 1 is h shifted up by B rows, so dW is one product, plus
 * da_0ᵀ h0 when h0 is given (h_{−1} = 0 otherwise).
 */
function paramGrads(
  m: ElmanModel,
  B: number,
  T: number,
  K: Kernels,
  x: Float64Array,
  h0: Float64Array | null,
  w: Work,
  from: number,
  wantDx: boolean,
): void {
  const { inputSize: d, hiddenSize: H } = m.config;
  const { U } = m.params;
  const { h, da, dU, dW, dbW, dx } = w;
  const r0 = from * B; // first row
  const rows = (T - from) * B;
  // dbW = Σ_rows da
  for (let r = r0; r < T * B; r++) {
    const o = r * H;
    for (let i = 0; i < H; i++) dbW[i] += da[o + i];
  }
  // dU = daᵀ x
  K.gemmTN(H, d, rows, da, r0 * H, H, x, r0 * d, d, dU, 0, d);
  // dW = daᵀ h_prev over the rows of steps ≥ max(from, 1), and da_0ᵀ h0
  const s1 = Math.max(from, 1);
  K.gemmTN(H, H, (T - s1) * B, da, s1 * B * H, H, h, (s1 - 1) * B * H, H, dW, 0, H);
  if (from === 0 && h0) K.gemmTN(H, H, B, da, 0, H, h0, 0, H, dW, 0, H);
  // dx = da U
  if (wantDx) K.gemmNN(rows, d, H, da, r0 * H, H, U, 0, d, dx, r0 * d, d);
}

/**
 * Truncated BPTT: the loss term at step t reaches the parameters only through cells t−k+1..t, and
 * h_{t−k} is held constant. Gradients of different loss terms stop at different steps, so each term
 * still inside its window keeps its own dh in a slot: at step s, slot j holds the term t = s + j.
 * One step back, slot j moves to slot j + 1 and the slot k − 1 leaves its window. The parameters take
 * the slots' sum da_s, so their gradients are still one product over all rows (paramGrads); only dh W is
 * done per slot. Windows that start at cell 0 read h0 directly (the oracle's truncated() does the same),
 * so dh0 sums every slot alive at s = 0. dh_s is reported as the sum of the slots at s: the gradient of
 * the truncated objective with respect to h_s. Returns the first step whose da is set.
 */
function truncatedBackward(
  m: ElmanModel,
  B: number,
  T: number,
  K: Kernels,
  w: Work,
  k: number,
  opts: BpttOptions,
): number {
  const H = m.config.hiddenSize;
  const { W } = m.params;
  const relu = m.config.activation === 'relu';
  const all = m.config.readout === 'all';
  const { h, dh, da, dh0, slots } = w;
  const BH = B * H;
  let cur = 0; // offset of this step's slots in `slots`; the next step's are at `nxt`
  let nxt = k * BH;
  let s = T - 1;
  for (; s >= 0; s--) {
    opts.check?.();
    // the slots alive at step s: j ∈ [lo, hi] (readout "last" has the one term t = T − 1)
    const lo = all ? 0 : T - 1 - s;
    const hi = Math.min(k - 1, T - 1 - s);
    if (lo > hi) break;
    const o = s * BH; // step s's block of dh, da and h
    // the loss term t = s enters slot 0 with the readout gradient that dh_s holds
    if (lo === 0) for (let q = 0; q < BH; q++) slots[cur + q] = dh[o + q];
    // dh_s = Σ_j slot_j ;  slot_j ← da_j = slot_j ⊙ act'(a_s) ;  da_s = Σ_j da_j
    dh.fill(0, o, o + BH);
    for (let j = lo; j <= hi; j++) {
      const sj = cur + j * BH;
      for (let q = 0; q < BH; q++) dh[o + q] += slots[sj + q];
      actGrad(relu, slots, sj, h, o, slots, sj, BH);
      for (let q = 0; q < BH; q++) da[o + q] += slots[sj + q];
    }
    if (s > 0) {
      // slots j ≤ k − 2 go on to step s − 1 as slot j + 1: slot'_{j+1} = da_j W
      const last = Math.min(hi, k - 2);
      if (last >= lo) {
        slots.fill(0, nxt + (lo + 1) * BH, nxt + (last + 2) * BH);
        K.gemmNN((last - lo + 1) * B, H, H, slots, cur + lo * BH, H, W, 0, H, slots, nxt + (lo + 1) * BH, H);
      }
    } else {
      // at s = 0 every live window reads h0: dh0 = Σ_j da_j W
      for (let j = lo; j <= hi; j++) K.gemmNN(B, H, H, slots, cur + j * BH, H, W, 0, H, dh0, 0, H);
    }
    [cur, nxt] = [nxt, cur];
  }
  return s + 1;
}
