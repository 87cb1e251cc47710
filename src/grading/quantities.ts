// What a question can ask for, the shape of each answer, and a problem's reference values, computed once each.
import { type BpttResult, bptt } from '../core/bptt.js';
import { type ForwardResult, forward } from '../core/elman.js';
import { type JacobianKey, jacobian } from '../core/jacobian.js';
import { crossEntropy } from '../core/loss.js';
import { type ElmanConfig, type ElmanModel, PARAM_OF, type WeightKey } from '../core/model.js';
import type { Quantity } from '../schemas/names.js';

export { QUANTITIES, type Quantity } from '../schemas/names.js';

/** One student's numbers: the model, x (B, T, d), and class targets ((B) for readout "last", (B, T) for "all"). */
export interface Problem {
  readonly model: ElmanModel;
  readonly x: Float64Array;
  readonly B: number;
  readonly T: number;
  readonly targets: Float64Array;
}

/** A value to compare: row-major data and its shape ([] for a scalar). */
export interface Value {
  readonly data: Float64Array;
  readonly shape: readonly number[];
}

/** Predictions the loss averages over: B for readout "last", B·T for "all". */
export const predictions = (p: Problem): number => (p.model.config.readout === 'all' ? p.B * p.T : p.B);

/** The shape of a quantity, with the letters of the sheet (for feedback) and the numbers. */
export function quantityShape(c: ElmanConfig, B: number, T: number, q: Quantity): { dims: number[]; names: string[] } {
  const { inputSize: d, hiddenSize: H, outputSize: C } = c;
  const out = c.readout === 'all' ? { dims: [B, T, C], names: ['B', 'T', 'C'] } : { dims: [B, C], names: ['B', 'C'] };
  const w: Record<WeightKey, { dims: number[]; names: string[] }> = {
    'U.weight': { dims: [H, d], names: ['H', 'd'] },
    'W.weight': { dims: [H, H], names: ['H', 'H'] },
    'W.bias': { dims: [H], names: ['H'] },
    'V.weight': { dims: [C, H], names: ['C', 'H'] },
    'V.bias': { dims: [C], names: ['C'] },
  };
  switch (q) {
    case 'y':
    case 'logits':
      return out;
    case 'y.shape':
      return { dims: [out.dims.length], names: ['rank'] };
    case 'h':
    case 'dh':
      return { dims: [B, T, H], names: ['B', 'T', 'H'] };
    case 'dx':
      return { dims: [B, T, d], names: ['B', 'T', 'd'] };
    case 'hT':
    case 'dh0':
      return { dims: [B, H], names: ['B', 'H'] };
    case 'loss':
      return { dims: [], names: [] };
    default: {
      if (q.startsWith('grads.')) return w[q.slice('grads.'.length) as WeightKey];
      const k = w[q.slice('jacobian.'.length) as WeightKey];
      return { dims: [B, T, H, ...k.dims], names: ['B', 'T', 'H', ...k.names] };
    }
  }
}

/**
 * The values of every quantity for one problem, each computed at most once: a forward pass gives the
 * outputs and the loss, one BPTT (run only when a gradient is asked for) everything else but the
 * Jacobians, which are computed per key. `truncate` computes the gradients of truncated BPTT instead
 * (what the mistake catalogue needs for a one-step gradient).
 */
export class Solution {
  private fwd?: ForwardResult;
  private run?: BpttResult;
  private readonly jac = new Map<JacobianKey, Float64Array>();

  constructor(
    readonly problem: Problem,
    private readonly truncate?: number,
  ) {}

  private get batch() {
    return { x: this.problem.x, B: this.problem.B, T: this.problem.T };
  }

  private get forward(): ForwardResult {
    this.fwd ??= this.run ?? forward(this.problem.model, this.batch);
    return this.fwd;
  }

  private backward(wantDx: boolean): BpttResult {
    const p = this.problem;
    if (!this.run || (wantDx && !this.run.dx))
      this.run = bptt(p.model, this.batch, p.targets, { truncate: this.truncate, wantDx });
    return this.run;
  }

  value(q: Quantity): Value {
    const { config } = this.problem.model;
    const { B, T } = this.problem;
    const shape = quantityShape(config, B, T, q).dims;
    const v = (data: Float64Array): Value => ({ data, shape });
    switch (q) {
      case 'y.shape':
        return v(Float64Array.from(config.readout === 'all' ? [B, T, config.outputSize] : [B, config.outputSize]));
      case 'y':
      case 'logits':
      case 'h':
      case 'hT':
        return v(this.forward[q]);
      case 'loss': {
        const n = predictions(this.problem);
        return v(Float64Array.of(crossEntropy(this.forward.logits, this.problem.targets, n, config.outputSize)));
      }
      case 'dh':
      case 'dh0':
        return v(this.backward(false)[q]);
      case 'dx':
        return v(this.backward(true).dx!);
      default: {
        if (q.startsWith('grads.'))
          return v(this.backward(false).grads[PARAM_OF[q.slice('grads.'.length) as WeightKey]]);
        const key = q.slice('jacobian.'.length) as JacobianKey;
        let J = this.jac.get(key);
        if (!J) {
          J = jacobian(this.problem.model, this.batch, key);
          this.jac.set(key, J);
        }
        return v(J);
      }
    }
  }
}
