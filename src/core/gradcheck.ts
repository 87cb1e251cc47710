// BPTT's gradient against central finite differences in float64, judged like torch.autograd.gradcheck.
import { type BpttOptions, bptt } from './bptt.js';
import { type Batch, loss } from './elman.js';
import { cloneParams, type ElmanModel, PARAM_OF, type Params, WEIGHT_KEYS, type WeightKey } from './model.js';

export interface GradcheckOptions extends Pick<BpttOptions, 'kernels' | 'check'> {
  /** Step of the central difference (torch's default). */
  eps?: number;
  /** An element passes when |analytic − numeric| ≤ atol + rtol·|numeric| (torch's defaults). */
  atol?: number;
  rtol?: number;
}

export interface TensorCheck {
  maxAbsError: number;
  /** Largest |analytic − numeric| / max(|analytic|, |numeric|), 0 where both are 0 (CS231n's measure). */
  maxRelError: number;
  ok: boolean;
}

export interface GradcheckResult {
  ok: boolean;
  maxRelError: number;
  maxAbsError: number;
  tensors: Record<WeightKey, TensorCheck>;
}

export const GRADCHECK_DEFAULTS = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 } as const;

export function gradcheck(
  model: ElmanModel,
  batch: Batch,
  targets: ArrayLike<number>,
  opts: GradcheckOptions = {},
): GradcheckResult {
  const { eps, atol, rtol } = { ...GRADCHECK_DEFAULTS, ...withoutUndefined(opts) };
  const run = { kernels: opts.kernels, check: opts.check };
  const analytic = bptt(model, batch, targets, run).grads;
  const params: Params = cloneParams(model.params);
  const probe: ElmanModel = { config: model.config, params };
  const tensors = {} as Record<WeightKey, TensorCheck>;
  let ok = true;
  let maxRel = 0;
  let maxAbs = 0;
  for (const key of WEIGHT_KEYS) {
    const p = params[PARAM_OF[key]];
    const g = analytic[PARAM_OF[key]];
    const t: TensorCheck = { maxAbsError: 0, maxRelError: 0, ok: true };
    for (let i = 0; i < p.length; i++) {
      const orig = p[i];
      // numeric = (L(θ + eps) − L(θ − eps)) / 2eps
      p[i] = orig + eps;
      const up = loss(probe, batch, targets, run);
      p[i] = orig - eps;
      const down = loss(probe, batch, targets, run);
      p[i] = orig;
      const numeric = (up - down) / (2 * eps);
      const abs = Math.abs(g[i] - numeric);
      const scale = Math.max(Math.abs(g[i]), Math.abs(numeric));
      const rel = scale === 0 ? 0 : abs / scale;
      if (!(abs <= atol + rtol * Math.abs(numeric))) t.ok = false;
      if (!(abs <= t.maxAbsError)) t.maxAbsError = abs; // a NaN sticks, and fails
      if (!(rel <= t.maxRelError)) t.maxRelError = rel;
    }
    tensors[key] = t;
    ok &&= t.ok;
    maxRel = Math.max(maxRel, t.maxRelError);
    maxAbs = Math.max(maxAbs, t.maxAbsError);
  }
  return { ok, maxRelError: maxRel, maxAbsError: maxAbs, tensors };
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
