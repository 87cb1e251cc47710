// SGD → momentum → Adam with torch.optim's update formulas and defaults, and clip_grad_norm_.
import { PARAM_OF, type Params, WEIGHT_KEYS, type WeightKey } from './model.js';

export interface SgdSpec {
  name: 'sgd';
  lr: number;
  momentum?: number; // torch default 0
  dampening?: number; // torch default 0
  nesterov?: boolean;
  weightDecay?: number;
}
/** SGD with momentum: the same update as torch.optim.SGD, with momentum 0.9 unless given. */
export interface MomentumSpec extends Omit<SgdSpec, 'name'> {
  name: 'momentum';
}
export interface AdamSpec {
  name: 'adam';
  lr?: number; // torch default 1e-3
  betas?: [number, number]; // (0.9, 0.999)
  eps?: number; // 1e-8
  weightDecay?: number; // 0 (L2 added to the gradient, as torch.optim.Adam; not AdamW)
  amsgrad?: boolean;
}
export type OptimizerSpec = SgdSpec | MomentumSpec | AdamSpec;

export const MOMENTUM_DEFAULT = 0.9;
export const ADAM_DEFAULTS = { lr: 1e-3, betas: [0.9, 0.999] as [number, number], eps: 1e-8 };

/**
 * What an optimizer carries from one step to the next, for a checkpoint: its step count and, per weight,
 * its buffers (momentum: `buf`; Adam: `m`, `v` and, with AMSGrad, `vMax`). A weight with no entry has had
 * no step yet (torch creates the buffers on the first step).
 */
export interface OptimizerState {
  steps: number;
  buffers: Partial<Record<WeightKey, Record<string, Float64Array>>>;
}

export interface Optimizer {
  readonly spec: OptimizerSpec;
  /** A copy of the state: an optimizer created from it takes exactly the steps this one would. */
  state(): OptimizerState;
  /** Updates `params` in place from `grads` (which it may read but never keeps). */
  step(params: Params, grads: Params): void;
  /** Steps taken so far. */
  readonly steps: number;
}

/** A fresh optimizer, or (with `from`) one that continues from a saved state. */
export function createOptimizer(spec: OptimizerSpec, from?: OptimizerState): Optimizer {
  return spec.name === 'adam' ? adam(spec, from) : sgd(spec, from);
}

const copyBuffers = (b: Record<string, Float64Array>) =>
  Object.fromEntries(Object.entries(b).map(([k, v]) => [k, Float64Array.from(v)]));

function sgd(spec: SgdSpec | MomentumSpec, from?: OptimizerState): Optimizer {
  const lr = spec.lr;
  const momentum = spec.momentum ?? (spec.name === 'momentum' ? MOMENTUM_DEFAULT : 0);
  const dampening = spec.dampening ?? 0;
  const wd = spec.weightDecay ?? 0;
  const nesterov = spec.nesterov ?? false;
  const bufs = new Map<WeightKey, Float64Array>();
  let steps = from?.steps ?? 0;
  for (const key of WEIGHT_KEYS) {
    const buf = from?.buffers[key]?.buf;
    if (buf) bufs.set(key, Float64Array.from(buf));
  }
  return {
    spec,
    state: () => ({
      steps,
      buffers: Object.fromEntries([...bufs].map(([key, buf]) => [key, { buf: Float64Array.from(buf) }])),
    }),
    get steps() {
      return steps;
    },
    step(params, grads) {
      for (const key of WEIGHT_KEYS) {
        const p = params[PARAM_OF[key]];
        const g = grads[PARAM_OF[key]];
        // torch keeps no momentum buffer until the first step, which sets buf = d_p
        const first = !bufs.has(key);
        if (momentum !== 0 && first) bufs.set(key, new Float64Array(p.length));
        const buf = bufs.get(key);
        for (let i = 0; i < p.length; i++) {
          // d_p = grad + weight_decay·p
          let dp = g[i] + wd * p[i];
          if (buf) {
            // buf = d_p on the first step, then buf = momentum·buf + (1 − dampening)·d_p
            buf[i] = first ? dp : momentum * buf[i] + (1 - dampening) * dp;
            dp = nesterov ? dp + momentum * buf[i] : buf[i];
          }
          // p = p − lr·d_p
          p[i] -= lr * dp;
        }
      }
      steps++;
    },
  };
}

function adam(spec: AdamSpec, from?: OptimizerState): Optimizer {
  const lr = spec.lr ?? ADAM_DEFAULTS.lr;
  const [beta1, beta2] = spec.betas ?? ADAM_DEFAULTS.betas;
  const eps = spec.eps ?? ADAM_DEFAULTS.eps;
  const wd = spec.weightDecay ?? 0;
  const state = new Map<WeightKey, { m: Float64Array; v: Float64Array; vMax: Float64Array | null }>();
  let steps = from?.steps ?? 0;
  for (const key of WEIGHT_KEYS) {
    const b = from?.buffers[key];
    if (b)
      state.set(key, {
        m: Float64Array.from(b.m),
        v: Float64Array.from(b.v),
        vMax: b.vMax ? Float64Array.from(b.vMax) : null,
      });
  }
  return {
    spec,
    state: () => ({
      steps,
      buffers: Object.fromEntries(
        [...state].map(([key, { m, v, vMax }]) => [key, copyBuffers(vMax ? { m, v, vMax } : { m, v })]),
      ),
    }),
    get steps() {
      return steps;
    },
    step(params, grads) {
      steps++;
      // torch's single-tensor Adam: step_size = lr / (1 − β1^t), denom = √v / √(1 − β2^t) + eps
      const bias1 = 1 - beta1 ** steps;
      const bias2Sqrt = Math.sqrt(1 - beta2 ** steps);
      const stepSize = lr / bias1;
      for (const key of WEIGHT_KEYS) {
        const p = params[PARAM_OF[key]];
        const g = grads[PARAM_OF[key]];
        let s = state.get(key);
        if (!s) {
          s = {
            m: new Float64Array(p.length),
            v: new Float64Array(p.length),
            vMax: spec.amsgrad ? new Float64Array(p.length) : null,
          };
          state.set(key, s);
        }
        const { m, v, vMax } = s;
        for (let i = 0; i < p.length; i++) {
          const gi = g[i] + wd * p[i];
          // m = β1·m + (1 − β1)·g ;  v = β2·v + (1 − β2)·g²
          m[i] = m[i] * beta1 + (1 - beta1) * gi;
          v[i] = v[i] * beta2 + (1 - beta2) * gi * gi;
          let vi = v[i];
          if (vMax) vi = vMax[i] = Math.max(vMax[i], vi);
          // p = p − step_size · m / denom
          p[i] -= (stepSize * m[i]) / (Math.sqrt(vi) / bias2Sqrt + eps);
        }
      }
    },
  };
}

/** The L2 norm of each gradient tensor. */
export function gradNorms(grads: Params): Record<WeightKey, number> {
  const out = {} as Record<WeightKey, number>;
  for (const key of WEIGHT_KEYS) {
    const g = grads[PARAM_OF[key]];
    let s = 0;
    for (let i = 0; i < g.length; i++) s += g[i] * g[i];
    out[key] = Math.sqrt(s);
  }
  return out;
}

/**
 * torch.nn.utils.clip_grad_norm_(max_norm): scales every gradient by min(1, max_norm / (total + 1e-6))
 * and returns the total norm from before clipping.
 */
export function clipGradNorm(grads: Params, maxNorm: number): number {
  const norms = gradNorms(grads);
  const total = Math.sqrt(WEIGHT_KEYS.reduce((s, k) => s + norms[k] * norms[k], 0));
  const coef = Math.min(1, maxNorm / (total + 1e-6));
  if (coef < 1) {
    for (const key of WEIGHT_KEYS) {
      const g = grads[PARAM_OF[key]];
      for (let i = 0; i < g.length; i++) g[i] *= coef;
    }
  }
  return total;
}
