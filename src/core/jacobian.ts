// The sheet's forward-mode recursion, for matrices: dh_t/dθ = diag(act'(a_t)) (∂a_t/∂θ + W dh_{t−1}/dθ).
// For a scalar network and θ = U this is Exercise 3's dh_t/dU = (1 − h_t²)(x_t + W dh_{t−1}/dU).
import { type Batch, checkBatch, type RunOptions, recur } from './elman.js';
import { jsKernels } from './kernels-js.js';
import type { ElmanModel } from './model.js';
import { assertFinite } from './tensor.js';
import { workspace } from './workspace.js';

/** The weights the hidden state depends on (V only reaches the logits). */
export const JACOBIAN_KEYS = ['U.weight', 'W.weight', 'W.bias'] as const;
export type JacobianKey = (typeof JACOBIAN_KEYS)[number];

/** Elements of dh/dθ for one key: B·T·H·|θ|, what the compute cap must bound before any work. */
export function jacobianSize(model: Pick<ElmanModel, 'config'>, B: number, T: number, key: JacobianKey): number {
  const { inputSize: d, hiddenSize: H } = model.config;
  const P = key === 'U.weight' ? H * d : key === 'W.weight' ? H * H : H;
  return B * T * H * P;
}

/**
 * jacobian(model, batch, key)[b, t, i, ...θ] = d h_t[b, i] / d θ, shape (B, T, H, ...shape of θ).
 * h0 is an input, so dh_{−1}/dθ = 0.
 */
export function jacobian(model: ElmanModel, batch: Batch, key: JacobianKey, opts: RunOptions = {}): Float64Array {
  checkBatch(model, batch);
  const K = opts.kernels ?? jsKernels;
  const { inputSize: d, hiddenSize: H } = model.config;
  const { B, T } = batch;
  const relu = model.config.activation === 'relu';
  // ∂a_t[i]/∂θ is nonzero only in θ's row i: x_t for U (row width d), h_{t−1} for W (width H), 1 for bW
  const width = key === 'U.weight' ? d : key === 'W.weight' ? H : 1;
  const P = H * width; // elements of θ
  const BH = B * H;
  // ∂a_t/∂θ's nonzero row, time major like x and h: x_t (U), h_{t−1} (W, with h_{−1} = h0 or zeros), 1 (bW)
  const ws = workspace(K, model, batch, {
    h: B * T * H,
    J: B * T * H * P,
    input: key === 'U.weight' ? 0 : T * B * width,
  });
  try {
    const { h, J } = ws.work;
    const { W } = ws.model.params;
    recur(ws.model, B, T, K, ws.x, ws.h0, h, opts.check);
    let input = ws.work.input;
    if (key === 'U.weight') input = ws.x;
    else if (key === 'W.bias') input.fill(1);
    else {
      if (ws.h0) input.set(ws.h0);
      input.set(h.subarray(0, (T - 1) * BH), BH);
    }
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        opts.check?.();
        const Jt = (b * T + t) * H * P; // dh_t/dθ for this b: an (H, P) matrix
        // W dh_{t−1}/dθ
        if (t > 0) K.gemmNN(H, P, H, W, 0, H, J, Jt - H * P, P, J, Jt, P);
        const src = (t * B + b) * width; // this row's input
        const ht = (t * B + b) * H; // h_t[b]
        for (let i = 0; i < H; i++) {
          // + ∂a_t/∂θ: row i of θ gets the input that θ multiplies
          const o = Jt + i * P + i * width;
          for (let m = 0; m < width; m++) J[o + m] += input[src + m];
          // diag(act'(a_t)): tanh' = 1 − h_t², relu' = [h_t > 0]
          const hi = h[ht + i];
          const g = relu ? (hi > 0 ? 1 : 0) : 1 - hi * hi;
          for (let q = Jt + i * P, end = q + P; q < end; q++) J[q] *= g;
        }
      }
    }
    const shape = [B, T, H, ...(key === 'W.bias' ? [H] : [H, width])];
    assertFinite(`jacobian.${key}`, J, shape);
    return ws.keep(J);
  } finally {
    ws.release();
  }
}
