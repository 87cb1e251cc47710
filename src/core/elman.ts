// The Elman network, batch first: the forward pass with cached h_t, and the steps bptt.ts runs in reverse.
//
//   a_t = U x_t + W h_{t-1} + bW        h_t = act(a_t)        (h_{-1} = h0, zeros by default)
//   logits = V h_{T-1} + bV  (readout "last")   or   logits_t = V h_t + bV  (readout "all")
//
// Callers see row-major, batch-first tensors. Inside, the kernels' buffers are time major (workspace.ts):
// h is the (T·B, H) matrix whose step t is the contiguous block of rows t·B .. t·B + B − 1, so only
// W h_{t−1} is computed step by step and U x is one product over all T·B rows.
import { NonFiniteError, ShapeError } from './errors.js';
import type { Kernels } from './kernels.js';
import { jsKernels } from './kernels-js.js';
import { crossEntropy, softmaxRows } from './loss.js';
import type { ElmanConfig, ElmanModel } from './model.js';
import { assertFinite, assertLength } from './tensor.js';
import { type Batch, copy, reorder, workspace } from './workspace.js';

export type { Batch } from './workspace.js';

export interface RunOptions {
  /** The backend for the matrix products; the portable one by default. */
  kernels?: Kernels;
  /** Called once per time step; throw (e.g. CancelledError) to stop a long computation. */
  check?: () => void;
  /**
   * The (B, T, H) tensors the caller will not read: they come back empty (length 0). A backend whose
   * memory is reused copies each result out, and h and dh are the large ones.
   */
  skip?: readonly ('h' | 'dh')[];
}

/** What a skipped result is. */
export const EMPTY = new Float64Array(0);

export interface ForwardResult {
  h: Float64Array; // (B, T, H), empty when skipped
  hT: Float64Array; // (B, H)
  logits: Float64Array; // (B, C) for readout "last", (B, T, C) for "all"
  y: Float64Array; // softmax(logits), same shape
}

/** Shapes of the tensors a result holds, for naming an index in errors and serializing. */
export function resultShapes(c: ElmanConfig, B: number, T: number) {
  const { inputSize: d, hiddenSize: H, outputSize: C } = c;
  const out = c.readout === 'all' ? [B, T, C] : [B, C];
  return { h: [B, T, H], hT: [B, H], logits: out, y: out, dh: [B, T, H], dh0: [B, H], dx: [B, T, d] };
}

export function checkBatch(model: ElmanModel, batch: Batch): void {
  const { inputSize: d, hiddenSize: H, outputSize: C } = model.config;
  const { B, T } = batch;
  if (!(Number.isInteger(B) && B >= 1 && Number.isInteger(T) && T >= 1)) {
    throw new ShapeError(`B and T must be positive integers, got B=${B}, T=${T}`);
  }
  assertLength('x', batch.x, [B, T, d]);
  if (batch.h0) assertLength('h0', batch.h0, [B, H]);
  const p = model.params;
  assertLength('U.weight', p.U, [H, d]);
  assertLength('W.weight', p.W, [H, H]);
  assertLength('W.bias', p.bW, [H]);
  assertLength('V.weight', p.V, [C, H]);
  assertLength('V.bias', p.bV, [C]);
}

export function checkTargets(model: ElmanModel, batch: Batch, targets: ArrayLike<number>): number {
  const { outputSize: C, readout } = model.config;
  const n = readout === 'all' ? batch.B * batch.T : batch.B;
  assertLength('targets', targets, readout === 'all' ? [batch.B, batch.T] : [batch.B]);
  for (let i = 0; i < n; i++) {
    const c = targets[i];
    if (!(Number.isInteger(c) && c >= 0 && c < C))
      throw new ShapeError(`targets[${i}] = ${c} is not a class in [0, ${C})`);
  }
  return n;
}

/** h_t = act(a_t) in place on step t's block of B rows, then the first non-finite h_t is reported. */
function activate(model: ElmanModel, K: Kernels, h: Float64Array, B: number, t: number): void {
  const H = model.config.hiddenSize;
  const BH = B * H;
  const o = t * BH;
  const end = o + BH;
  if (model.config.activation === 'relu') {
    // Math.max keeps a NaN a NaN, like torch.relu
    for (let q = o; q < end; q++) h[q] = Math.max(h[q], 0);
  } else if (K.tanh) {
    // the backend's own tanh (vectorized in wasm): a Math.tanh call costs 13-20 ns
    K.tanh(h, o, BH, 1, BH);
  } else {
    for (let q = o; q < end; q++) h[q] = Math.tanh(h[q]);
  }
  for (let q = o; q < end; q++) {
    const v = h[q];
    // v − v is NaN exactly when v is ±Infinity or NaN
    if (v - v !== 0) throw new NonFiniteError('h', [Math.floor((q - o) / H), t, (q - o) % H], v);
  }
}

/** The recurrence over all T steps, into h (T·B, H) time major, which the kernels own; x is (T·B, d). */
export function recur(
  model: ElmanModel,
  B: number,
  T: number,
  K: Kernels,
  x: Float64Array,
  h0: Float64Array | null,
  h: Float64Array,
  check?: () => void,
): void {
  const { inputSize: d, hiddenSize: H } = model.config;
  const { U, W, bW } = model.params;
  const BH = B * H;
  // a = bW + x Uᵀ for every step at once: one (T·B, d)·(d, H) product
  for (let r = 0; r < T * B; r++) h.set(bW, r * H);
  K.gemmNT(T * B, H, d, x, 0, d, U, 0, d, h, 0, H);
  for (let t = 0; t < T; t++) {
    check?.();
    // a_t += h_{t−1} Wᵀ, the only sequential product (h_{−1} = h0, or zeros)
    if (t > 0) K.gemmNT(B, H, H, h, (t - 1) * BH, H, W, 0, H, h, t * BH, H);
    else if (h0) K.gemmNT(B, H, H, h0, 0, H, W, 0, H, h, 0, H);
    // h_t = act(a_t)
    activate(model, K, h, B, t);
  }
}

/**
 * logits = V h + bV over the rows the readout uses: h_{T−1} (the last block of h), or every h_t, computed
 * time major into `tm` (T·B, C) and reordered into logits (B, T, C).
 */
export function readout(
  model: ElmanModel,
  K: Kernels,
  h: Float64Array,
  B: number,
  T: number,
  logits: Float64Array,
  tm: Float64Array,
): void {
  const { hiddenSize: H, outputSize: C } = model.config;
  const { V, bV } = model.params;
  if (model.config.readout === 'all') {
    for (let r = 0; r < B * T; r++) tm.set(bV, r * C);
    K.gemmNT(B * T, C, H, h, 0, H, V, 0, H, tm, 0, C);
    reorder(tm, logits, T, B, C);
  } else {
    for (let b = 0; b < B; b++) logits.set(bV, b * C);
    K.gemmNT(B, C, H, h, (T - 1) * B * H, H, V, 0, H, logits, 0, C);
  }
}

export function forward(model: ElmanModel, batch: Batch, opts: RunOptions = {}): ForwardResult {
  checkBatch(model, batch);
  const K = opts.kernels ?? jsKernels;
  const { hiddenSize: H, outputSize: C } = model.config;
  const { B, T } = batch;
  const all = model.config.readout === 'all';
  const rows = all ? B * T : B;
  const ws = workspace(K, model, batch, { h: B * T * H, logits: rows * C, y: rows * C, tm: all ? rows * C : 0 });
  try {
    const { h, logits, y, tm } = ws.work;
    recur(ws.model, B, T, K, ws.x, ws.h0, h, opts.check);
    readout(ws.model, K, h, B, T, logits, tm);
    assertFinite('logits', logits, resultShapes(model.config, B, T).logits);
    softmaxRows(logits, rows, C, y);
    return {
      h: opts.skip?.includes('h') ? EMPTY : ws.batchFirst(h, H),
      hT: lastStep(h, B, T, H),
      logits: ws.keep(logits),
      y: ws.keep(y),
    };
  } finally {
    ws.release();
  }
}

/** Mean cross-entropy only: what gradcheck perturbs. */
export function loss(model: ElmanModel, batch: Batch, targets: ArrayLike<number>, opts: RunOptions = {}): number {
  const n = checkTargets(model, batch, targets);
  const f = forward(model, batch, opts);
  return crossEntropy(f.logits, targets, n, model.config.outputSize);
}

/** hT (B, H) = h_{T−1}, the last block of the time-major h, as a new array. */
export function lastStep(h: Float64Array, B: number, T: number, H: number): Float64Array {
  return copy(h.subarray((T - 1) * B * H, T * B * H));
}

/**
 * da = dh ⊙ act'(a) over n contiguous elements, with act' read off h: tanh' = 1 − h², relu' = [h > 0]
 * (0 at exactly 0, as PyTorch). da may be dh itself.
 */
export function actGrad(
  relu: boolean,
  dh: Float64Array,
  dhOff: number,
  h: Float64Array,
  hOff: number,
  da: Float64Array,
  daOff: number,
  n: number,
): void {
  if (relu) for (let q = 0; q < n; q++) da[daOff + q] = h[hOff + q] > 0 ? dh[dhOff + q] : 0;
  else
    for (let q = 0; q < n; q++) {
      const hq = h[hOff + q];
      da[daOff + q] = dh[dhOff + q] * (1 - hq * hq);
    }
}
