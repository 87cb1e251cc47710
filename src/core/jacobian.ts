// The sheet's forward-mode recursion, for matrices: dh_t/dθ = diag(act'(a_t)) (∂a_t/∂θ + W dh_{t−1}/dθ).
// For a scalar network and θ = U this is Exercise 3's dh_t/dU = (1 − h_t²)(x_t + W dh_{t−1}/dU).
import { type Batch, checkBatch, type RunOptions, recur, workspace } from './elman.js';
import { jsKernels } from './kernels-js.js';
import type { ElmanModel } from './model.js';
import { assertFinite } from './tensor.js';

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
  const ws = workspace(K, model, batch, { h: B * T * H, J: B * T * H * P });
  try {
    const { h, J } = ws.work;
    const { W } = ws.model.params;
    const x = ws.x;
    recur(ws.model, batch, K, x, ws.h0, h, opts.check);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        opts.check?.();
        const Jt = (b * T + t) * H * P; // dh_t/dθ for this b: an (H, P) matrix
        // W dh_{t−1}/dθ
        if (t > 0) K.gemmNN(H, P, H, W, 0, H, J, Jt - H * P, P, J, Jt, P);
        for (let i = 0; i < H; i++) {
          // + ∂a_t/∂θ: row i of θ gets the input that θ multiplies (x_t, h_{t−1}, or 1)
          const o = Jt + i * P + i * width;
          if (key === 'U.weight') for (let m = 0; m < d; m++) J[o + m] += x[(b * T + t) * d + m];
          else if (key === 'W.weight') {
            const prev = t > 0 ? h.subarray((b * T + t - 1) * H, (b * T + t) * H) : ws.h0?.subarray(b * H, (b + 1) * H);
            if (prev) for (let m = 0; m < H; m++) J[o + m] += prev[m];
          } else J[o] += 1;
          // diag(act'(a_t)): tanh' = 1 − h_t², relu' = [h_t > 0]
          const hi = h[(b * T + t) * H + i];
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
