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
  workspace,
} from './elman.js';
import { NonFiniteError, ShapeError } from './errors.js';
import type { Kernels } from './kernels.js';
import { jsKernels } from './kernels-js.js';
import { crossEntropy, softmaxRows } from './loss.js';
import type { ElmanModel, Params } from './model.js';
import { assertFinite } from './tensor.js';

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
  const ws = workspace(K, model, batch, {
    h: B * T * H,
    hT: B * H,
    logits: n * C,
    y: n * C,
    dlogits: n * C,
    dU: H * d,
    dW: H * H,
    dbW: H,
    dV: C * H,
    dbV: C,
    dh: B * T * H,
    dh0: B * H,
    dx: opts.wantDx ? B * T * d : 0,
    da: B * H,
    slots: k < T ? 2 * k * B * H : 0, // truncated BPTT only: one dh per loss term still inside its window
  });
  try {
    const w = ws.work;
    const { h, hT, logits, y, dlogits, dV, dbV, dh } = w;
    const { V } = ws.model.params;
    recur(ws.model, batch, K, ws.x, ws.h0, h, opts.check);
    readout(ws.model, K, h, B, T, logits);
    const shapes = resultShapes(model.config, B, T);
    assertFinite('logits', logits, shapes.logits);

    // dlogits = (softmax(logits) − onehot(targets)) / n
    const lossValue = crossEntropy(logits, targets, n, C, dlogits);
    if (!Number.isFinite(lossValue)) throw new NonFiniteError('loss', [], lossValue);
    // dbV = Σ dlogits
    for (let r = 0; r < n; r++) for (let c = 0; c < C; c++) dbV[c] += dlogits[r * C + c];
    if (all) {
      // dV = dlogitsᵀ h over every step, and each h_t receives its own dlogits_t V
      K.gemmTN(C, H, n, dlogits, 0, C, h, 0, H, dV, 0, H);
      K.gemmNN(n, H, C, dlogits, 0, C, V, 0, H, dh, 0, H);
    } else {
      // dV = dlogitsᵀ h_{T-1}, and h_{T-1} receives dlogits V
      K.gemmTN(C, H, B, dlogits, 0, C, h, (T - 1) * H, T * H, dV, 0, H);
      K.gemmNN(B, H, C, dlogits, 0, C, V, 0, H, dh, (T - 1) * H, T * H);
    }

    if (k >= T) fullBackward(ws.model, batch, K, ws.x, ws.h0, w, opts);
    else truncatedBackward(ws.model, batch, K, ws.x, ws.h0, w, k, opts);

    const { keep } = ws;
    const grads: Params = { U: keep(w.dU), W: keep(w.dW), bW: keep(w.dbW), V: keep(dV), bV: keep(dbV) };
    assertFinite('grads.U.weight', grads.U, [H, d]);
    assertFinite('grads.W.weight', grads.W, [H, H]);
    assertFinite('grads.W.bias', grads.bW, [H]);
    assertFinite('grads.V.weight', grads.V, [C, H]);
    assertFinite('grads.V.bias', grads.bV, [C]);
    assertFinite('dh', dh, shapes.dh);
    assertFinite('dh0', w.dh0, shapes.dh0);
    if (opts.wantDx) assertFinite('dx', w.dx, shapes.dx);

    softmaxRows(logits, n, C, y);
    lastStep(h, B, T, H, hT);
    return {
      h: opts.skip?.includes('h') ? EMPTY : keep(h),
      hT: keep(hT),
      logits: keep(logits),
      y: keep(y),
      loss: lossValue,
      grads,
      dh: opts.skip?.includes('dh') ? EMPTY : keep(dh),
      dh0: keep(w.dh0),
      dx: opts.wantDx ? keep(w.dx) : undefined,
    };
  } finally {
    ws.release();
  }
}

/** Full BPTT, as min-char-rnn: dh_t arrives holding its readout gradient, and each step passes dh_{t−1} back. */
function fullBackward(
  m: ElmanModel,
  batch: Batch,
  K: Kernels,
  x: Float64Array,
  h0: Float64Array | null,
  w: Work,
  opts: BpttOptions,
): void {
  const { inputSize: d, hiddenSize: H } = m.config;
  const { U, W } = m.params;
  const { B, T } = batch;
  const relu = m.config.activation === 'relu';
  const { h, dh, da, dU, dW, dbW, dh0, dx } = w;
  for (let t = T - 1; t >= 0; t--) {
    opts.check?.();
    // da_t = dh_t ⊙ act'(a_t)
    actGrad(relu, dh, t * H, T * H, h, t * H, T * H, da, 0, B, H);
    // dbW += Σ_b da_t
    for (let b = 0; b < B; b++) for (let i = 0; i < H; i++) dbW[i] += da[b * H + i];
    // dU += da_tᵀ x_t
    K.gemmTN(H, d, B, da, 0, H, x, t * d, T * d, dU, 0, d);
    if (t > 0) {
      // dW += da_tᵀ h_{t−1}
      K.gemmTN(H, H, B, da, 0, H, h, (t - 1) * H, T * H, dW, 0, H);
      // dh_{t−1} += da_t W
      K.gemmNN(B, H, H, da, 0, H, W, 0, H, dh, (t - 1) * H, T * H);
    } else {
      // h_{−1} = h0: dW += da_0ᵀ h0 and dh0 = da_0 W
      if (h0) K.gemmTN(H, H, B, da, 0, H, h0, 0, H, dW, 0, H);
      K.gemmNN(B, H, H, da, 0, H, W, 0, H, dh0, 0, H);
    }
    // dx_t = da_t U
    if (opts.wantDx) K.gemmNN(B, d, H, da, 0, H, U, 0, d, dx, t * d, T * d);
  }
}

/**
 * Truncated BPTT: the loss term at step t reaches the parameters only through cells t−k+1..t, and
 * h_{t−k} is held constant. Gradients of different loss terms stop at different steps, so each term
 * still inside its window keeps its own dh in a slot: at step s, slot j holds the term t = s + j.
 * One step back, slot j moves to slot j + 1 and the slot k − 1 leaves its window. The parameters take
 * the slots' sum, so their gradients still cost one product per step; only dh W is done per slot.
 * Windows that start at cell 0 read h0 directly (the oracle's truncated() does the same), so dh0 sums
 * every slot alive at s = 0. dh_s is reported as the sum of the slots at s: the gradient of the
 * truncated objective with respect to h_s.
 */
function truncatedBackward(
  m: ElmanModel,
  batch: Batch,
  K: Kernels,
  x: Float64Array,
  h0: Float64Array | null,
  w: Work,
  k: number,
  opts: BpttOptions,
): void {
  const { inputSize: d, hiddenSize: H } = m.config;
  const { U, W } = m.params;
  const { B, T } = batch;
  const relu = m.config.activation === 'relu';
  const all = m.config.readout === 'all';
  const { h, dh, da, dU, dW, dbW, dh0, dx, slots } = w;
  const BH = B * H;
  let cur = 0; // offset of this step's slots in `slots`; the next step's are at `nxt`
  let nxt = k * BH;
  for (let s = T - 1; s >= 0; s--) {
    opts.check?.();
    // the slots alive at step s: j ∈ [lo, hi] (readout "last" has the one term t = T − 1)
    const lo = all ? 0 : T - 1 - s;
    const hi = Math.min(k - 1, T - 1 - s);
    if (lo > hi) break;
    // the loss term t = s enters slot 0 with the readout gradient that dh_s holds
    if (lo === 0) for (let b = 0; b < B; b++) slots.set(dh.subarray((b * T + s) * H, (b * T + s + 1) * H), cur + b * H);
    // dh_s = Σ_j slot_j ;  slot_j ← da_j = slot_j ⊙ act'(a_s) ;  da = Σ_j da_j
    da.fill(0);
    for (let b = 0; b < B; b++) dh.fill(0, (b * T + s) * H, (b * T + s + 1) * H);
    for (let j = lo; j <= hi; j++) {
      const o = cur + j * BH;
      for (let b = 0; b < B; b++) for (let i = 0; i < H; i++) dh[(b * T + s) * H + i] += slots[o + b * H + i];
      actGrad(relu, slots, o, H, h, s * H, T * H, slots, o, B, H);
      for (let q = 0; q < BH; q++) da[q] += slots[o + q];
    }
    // dbW += Σ_b da ;  dU += daᵀ x_s ;  dW += daᵀ h_{s−1}
    for (let b = 0; b < B; b++) for (let i = 0; i < H; i++) dbW[i] += da[b * H + i];
    K.gemmTN(H, d, B, da, 0, H, x, s * d, T * d, dU, 0, d);
    if (s > 0) K.gemmTN(H, H, B, da, 0, H, h, (s - 1) * H, T * H, dW, 0, H);
    else if (h0) K.gemmTN(H, H, B, da, 0, H, h0, 0, H, dW, 0, H);
    // dx_s = da U
    if (opts.wantDx) K.gemmNN(B, d, H, da, 0, H, U, 0, d, dx, s * d, T * d);
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
}
