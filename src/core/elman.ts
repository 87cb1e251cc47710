// The Elman network, batch first: the forward pass with cached h_t, and the steps bptt.ts runs in reverse.
//
//   a_t = U x_t + W h_{t-1} + bW        h_t = act(a_t)        (h_{-1} = h0, zeros by default)
//   logits = V h_{T-1} + bV  (readout "last")   or   logits_t = V h_t + bV  (readout "all")
//
// Every buffer is row-major and batch first, so h (B, T, H) is also the (B·T, H) matrix the
// readout "all" multiplies in one product; h_t is the strided view (h, t·H, ld = T·H).
import { NonFiniteError, ShapeError } from './errors.js';
import type { Kernels } from './kernels.js';
import { jsKernels } from './kernels-js.js';
import { crossEntropy, softmaxRows } from './loss.js';
import type { ElmanConfig, ElmanModel } from './model.js';
import { assertFinite, assertLength } from './tensor.js';

export interface Batch {
  readonly x: Float64Array; // (B, T, d)
  readonly B: number;
  readonly T: number;
  readonly h0?: Float64Array | null; // (B, H); zeros when absent
}

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

/** h_t = act(a_t) in place on the B rows of step t, then the first non-finite h_t is reported. */
function activate(model: ElmanModel, K: Kernels, h: Float64Array, B: number, T: number, t: number): void {
  const H = model.config.hiddenSize;
  const relu = model.config.activation === 'relu';
  // the backend's own tanh (vectorized in wasm) when it has one: a Math.tanh call costs 13-20 ns
  if (!relu && K.tanh) K.tanh(h, t * H, T * H, B, H);
  for (let b = 0; b < B; b++) {
    const o = (b * T + t) * H;
    // Math.max keeps a NaN a NaN, like torch.relu
    if (relu) for (let i = o; i < o + H; i++) h[i] = Math.max(h[i], 0);
    else if (!K.tanh) for (let i = o; i < o + H; i++) h[i] = Math.tanh(h[i]);
    for (let i = 0; i < H; i++) {
      const v = h[o + i];
      // v − v is NaN exactly when v is ±Infinity or NaN
      if (v - v !== 0) throw new NonFiniteError('h', [b, t, i], v);
    }
  }
}

/** The recurrence over all T steps, into h (B, T, H), which the kernels own. */
export function recur(
  model: ElmanModel,
  batch: Batch,
  K: Kernels,
  x: Float64Array,
  h0: Float64Array | null,
  h: Float64Array,
  check?: () => void,
): void {
  const { inputSize: d, hiddenSize: H } = model.config;
  const { U, W, bW } = model.params;
  const { B, T } = batch;
  for (let t = 0; t < T; t++) {
    check?.();
    // a_t = bW + x_t Uᵀ + h_{t-1} Wᵀ, written in place where h_t goes
    for (let b = 0; b < B; b++) h.set(bW, (b * T + t) * H);
    K.gemmNT(B, H, d, x, t * d, T * d, U, 0, d, h, t * H, T * H);
    if (t > 0) K.gemmNT(B, H, H, h, (t - 1) * H, T * H, W, 0, H, h, t * H, T * H);
    else if (h0) K.gemmNT(B, H, H, h0, 0, H, W, 0, H, h, 0, T * H);
    // h_t = act(a_t)
    activate(model, K, h, B, T, t);
  }
}

/** logits = V h + bV over the rows the readout uses (h_{T-1}, or every h_t). */
export function readout(
  model: ElmanModel,
  K: Kernels,
  h: Float64Array,
  B: number,
  T: number,
  logits: Float64Array,
): void {
  const { hiddenSize: H, outputSize: C } = model.config;
  const { V, bV } = model.params;
  const all = model.config.readout === 'all';
  const rows = all ? B * T : B;
  for (let r = 0; r < rows; r++) logits.set(bV, r * C);
  if (all) K.gemmNT(rows, C, H, h, 0, H, V, 0, H, logits, 0, C);
  else K.gemmNT(B, C, H, h, (T - 1) * H, T * H, V, 0, H, logits, 0, C);
}

/** Buffers in the kernels' memory for one call: the model, the batch, and the named work arrays. */
export function workspace<N extends string>(K: Kernels, model: ElmanModel, batch: Batch, sizes: Record<N, number>) {
  const p = model.params;
  const names = Object.keys(sizes) as N[];
  const bufs = K.alloc([
    p.U.length,
    p.W.length,
    p.bW.length,
    p.V.length,
    p.bV.length,
    batch.x.length,
    batch.h0?.length ?? 0,
    ...names.map((n) => sizes[n]),
  ]);
  const [U, W, bW, V, bV, x, h0] = bufs;
  U.set(p.U);
  W.set(p.W);
  bW.set(p.bW);
  V.set(p.V);
  bV.set(p.bV);
  x.set(batch.x);
  if (batch.h0) h0.set(batch.h0);
  const work = {} as Record<N, Float64Array>;
  names.forEach((n, i) => {
    work[n] = bufs[7 + i];
  });
  const inner: ElmanModel = { config: model.config, params: { U, W, bW, V, bV } };
  // a result may be a work buffer itself unless the backend reuses its memory after release
  const keep = K.reusesMemory ? (a: Float64Array) => a.slice() : (a: Float64Array) => a;
  return { model: inner, x, h0: batch.h0 ? h0 : null, work, keep, release: () => K.release(bufs) };
}

export function forward(model: ElmanModel, batch: Batch, opts: RunOptions = {}): ForwardResult {
  checkBatch(model, batch);
  const K = opts.kernels ?? jsKernels;
  const { hiddenSize: H, outputSize: C } = model.config;
  const { B, T } = batch;
  const rows = model.config.readout === 'all' ? B * T : B;
  const ws = workspace(K, model, batch, { h: B * T * H, hT: B * H, logits: rows * C, y: rows * C });
  try {
    const { h, hT, logits, y } = ws.work;
    recur(ws.model, batch, K, ws.x, ws.h0, h, opts.check);
    readout(ws.model, K, h, B, T, logits);
    assertFinite('logits', logits, resultShapes(model.config, B, T).logits);
    softmaxRows(logits, rows, C, y);
    lastStep(h, B, T, H, hT);
    return {
      h: opts.skip?.includes('h') ? EMPTY : ws.keep(h),
      hT: ws.keep(hT),
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

/** hT (B, H) = h[:, T−1]. */
export function lastStep(h: Float64Array, B: number, T: number, H: number, hT: Float64Array): void {
  for (let b = 0; b < B; b++) hT.set(h.subarray((b * T + T - 1) * H, (b * T + T) * H), b * H);
}

/** da = dh ⊙ act'(a), with act' read off h: tanh' = 1 − h², relu' = [h > 0] (0 at exactly 0, as PyTorch). */
export function actGrad(
  relu: boolean,
  dh: Float64Array,
  dhOff: number,
  ldDh: number,
  h: Float64Array,
  hOff: number,
  ldH: number,
  da: Float64Array,
  daOff: number,
  B: number,
  H: number,
): void {
  for (let b = 0; b < B; b++) {
    const g = dhOff + b * ldDh;
    const v = hOff + b * ldH;
    const o = daOff + b * H;
    if (relu) for (let i = 0; i < H; i++) da[o + i] = h[v + i] > 0 ? dh[g + i] : 0;
    else
      for (let i = 0; i < H; i++) {
        const hi = h[v + i];
        da[o + i] = dh[g + i] * (1 - hi * hi);
      }
  }
}
