// Plain-loop versions of BPTT and of the sheet's Jacobian recursion with a step left out on purpose, so the
// mistake catalogue can compute what a student who forgot that step would get. With nothing left out they
// are the correct computations (a test holds them to the core's), which is what makes the mistakes exact.
import { forward } from '../core/elman.js';
import type { JacobianKey } from '../core/jacobian.js';
import { crossEntropy } from '../core/loss.js';
import { type Params, zeroParams } from '../core/model.js';
import { type Problem, predictions } from './quantities.js';

export interface BackwardFlags {
  /** Multiply by act'(a_t) on the way back (tanh' = 1 − h_t², relu' = [h_t > 0]). */
  actDerivative: boolean;
}

export interface Backward {
  grads: Params;
  dh: Float64Array; // (B, T, H)
  dx: Float64Array; // (B, T, d)
  dh0: Float64Array; // (B, H)
}

const derivative = (relu: boolean, h: number) => (relu ? (h > 0 ? 1 : 0) : 1 - h * h);

/** Full BPTT of the mean cross-entropy, one scalar at a time. */
export function naiveBptt(p: Problem, flags: BackwardFlags): Backward {
  const { config, params } = p.model;
  const { inputSize: d, hiddenSize: H, outputSize: C } = config;
  const { U, W, V } = params;
  const { B, T, x } = p;
  const all = config.readout === 'all';
  const relu = config.activation === 'relu';
  const { h, logits } = forward(p.model, { x, B, T });
  const n = predictions(p);
  const dlogits = new Float64Array(n * C);
  crossEntropy(logits, p.targets, n, C, dlogits);
  const grads = zeroParams(config);
  const dh = new Float64Array(B * T * H);
  const dx = new Float64Array(B * T * d);
  const dh0 = new Float64Array(B * H);
  // the readout: dV += dlogits ⊗ h_t, dbV += dlogits, dh_t += dlogits V, for each step that is read out
  for (let r = 0; r < n; r++) {
    const b = all ? Math.floor(r / T) : r;
    const t = all ? r % T : T - 1;
    const ht = (b * T + t) * H;
    for (let c = 0; c < C; c++) {
      const g = dlogits[r * C + c];
      grads.bV[c] += g;
      for (let i = 0; i < H; i++) {
        grads.V[c * H + i] += g * h[ht + i];
        dh[ht + i] += g * V[c * H + i];
      }
    }
  }
  const da = new Float64Array(H);
  for (let t = T - 1; t >= 0; t--) {
    for (let b = 0; b < B; b++) {
      const ht = (b * T + t) * H;
      // da_t = dh_t ⊙ act'(a_t), or dh_t itself when the derivative is forgotten
      for (let i = 0; i < H; i++) da[i] = dh[ht + i] * (flags.actDerivative ? derivative(relu, h[ht + i]) : 1);
      for (let i = 0; i < H; i++) {
        grads.bW[i] += da[i];
        for (let k = 0; k < d; k++) {
          grads.U[i * d + k] += da[i] * x[(b * T + t) * d + k];
          dx[(b * T + t) * d + k] += da[i] * U[i * d + k];
        }
        for (let j = 0; j < H; j++) {
          // h_{t−1}: the previous step, or h0 = 0 (problems have no h0)
          if (t > 0) {
            grads.W[i * H + j] += da[i] * h[ht - H + j];
            dh[ht - H + j] += da[i] * W[i * H + j];
          } else dh0[b * H + j] += da[i] * W[i * H + j];
        }
      }
    }
  }
  return { grads, dh, dx, dh0 };
}

export interface JacobianFlags extends BackwardFlags {
  /** Carry W dh_{t−1}/dθ forward (the term Exercise 3's recursion adds at each step). */
  recurse: boolean;
}

/** dh_t/dθ = diag(act'(a_t)) (∂a_t/∂θ + W dh_{t−1}/dθ), shape (B, T, H, ...θ), with the chosen terms. */
export function naiveJacobian(p: Problem, key: JacobianKey, flags: JacobianFlags): Float64Array {
  const { config, params } = p.model;
  const { inputSize: d, hiddenSize: H } = config;
  const { W } = params;
  const { B, T, x } = p;
  const relu = config.activation === 'relu';
  const { h } = forward(p.model, { x, B, T });
  // ∂a_t[i]/∂θ is nonzero only in θ's row i, where it is x_t (U), h_{t−1} (W) or 1 (b_W)
  const width = key === 'U.weight' ? d : key === 'W.weight' ? H : 1;
  const P = H * width;
  const J = new Float64Array(B * T * H * P);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const Jt = (b * T + t) * H * P;
      for (let i = 0; i < H; i++) {
        const row = Jt + i * P;
        for (let m = 0; m < width; m++) {
          J[row + i * width + m] =
            key === 'U.weight'
              ? x[(b * T + t) * d + m]
              : key === 'W.weight'
                ? t > 0
                  ? h[(b * T + t - 1) * H + m]
                  : 0
                : 1;
        }
        if (flags.recurse && t > 0)
          for (let j = 0; j < H; j++) {
            const w = W[i * H + j];
            for (let q = 0; q < P; q++) J[row + q] += w * J[Jt - H * P + j * P + q];
          }
        const g = flags.actDerivative ? derivative(relu, h[(b * T + t) * H + i]) : 1;
        for (let q = 0; q < P; q++) J[row + q] *= g;
      }
    }
  }
  return J;
}
