// The compute routes' work as plain messages: the same function runs inline on the event loop and in
// a pool worker, so a task and its result hold only structured-clonable data (typed arrays, numbers).
import { bptt } from '../core/bptt.js';
import { forward, resultShapes } from '../core/elman.js';
import { NonFiniteError, ShapeError } from '../core/errors.js';
import { GRADCHECK_DEFAULTS, type GradcheckResult, gradcheck } from '../core/gradcheck.js';
import { type JacobianKey, jacobian, jacobianSize } from '../core/jacobian.js';
import type { Kernels } from '../core/kernels.js';
import { type ElmanConfig, PARAM_OF, type Params, WEIGHT_KEYS, type WeightKey, weightShapes } from '../core/model.js';

import type { TensorData } from '../schemas/tensor.js';

export type { TensorData } from '../schemas/tensor.js';

interface TaskBase {
  config: ElmanConfig;
  params: Params;
  x: TensorData; // (B, T, d)
  h0?: TensorData;
}
export type ComputeTask =
  | (TaskBase & { op: 'forward'; include: readonly string[] })
  | (TaskBase & { op: 'bptt'; targets: Float64Array; truncate?: number; include: readonly string[] })
  | (TaskBase & { op: 'jacobian'; wrt: readonly JacobianKey[] })
  | (TaskBase & { op: 'gradcheck'; targets: Float64Array; eps?: number });

type Grads = Record<WeightKey, TensorData>;
export interface ForwardOut {
  y: TensorData;
  hT: TensorData;
  h?: TensorData;
  logits?: TensorData;
}
export interface BpttOut extends ForwardOut {
  loss: number;
  grads: Grads;
  dh?: TensorData;
  dx?: TensorData;
  dh0?: TensorData;
}
export interface JacobianOut {
  jacobian: Partial<Record<JacobianKey, TensorData>>;
}
export type GradcheckOut = GradcheckResult & { eps: number; atol: number; rtol: number };
export interface OutputOf {
  forward: ForwardOut;
  bptt: BpttOut;
  jacobian: JacobianOut;
  gradcheck: GradcheckOut;
}

export type TaskOutput =
  | { ok: true; value: OutputOf[ComputeTask['op']] }
  | {
      ok: false;
      error:
        | { kind: 'non-finite'; tensor: string; index: number[]; value: number }
        | { kind: 'shape'; message: string; path: (string | number)[] };
    };

const t = (data: Float64Array, shape: number[]): TensorData => ({ data, shape });

function grads(config: ElmanConfig, g: Params): Grads {
  const shapes = weightShapes(config);
  return Object.fromEntries(WEIGHT_KEYS.map((k) => [k, t(g[PARAM_OF[k]], shapes[k])])) as Grads;
}

export function runTask(task: ComputeTask, kernels?: Kernels, check?: () => void): TaskOutput {
  try {
    return { ok: true, value: compute(task, { kernels, check }) };
  } catch (e) {
    // domain errors cross the worker boundary as data, since a thrown class does not survive structured clone
    if (e instanceof NonFiniteError)
      return { ok: false, error: { kind: 'non-finite', tensor: e.tensor, index: e.index, value: e.value } };
    if (e instanceof ShapeError) return { ok: false, error: { kind: 'shape', message: e.message, path: e.path } };
    throw e;
  }
}

function compute(task: ComputeTask, opts: { kernels?: Kernels; check?: () => void }): OutputOf[ComputeTask['op']] {
  const model = { config: task.config, params: task.params };
  const [B, T] = task.x.shape;
  const batch = { x: task.x.data, B, T, h0: task.h0?.data ?? null };
  const shapes = resultShapes(task.config, B, T);
  switch (task.op) {
    case 'forward': {
      const f = forward(model, batch, { ...opts, skip: task.include.includes('h') ? [] : ['h'] });
      const out: ForwardOut = { y: t(f.y, shapes.y), hT: t(f.hT, shapes.hT) };
      if (task.include.includes('h')) out.h = t(f.h, shapes.h);
      if (task.include.includes('logits')) out.logits = t(f.logits, shapes.logits);
      return out;
    }
    case 'bptt': {
      const r = bptt(model, batch, task.targets, {
        ...opts,
        truncate: task.truncate,
        wantDx: task.include.includes('dx'),
        // the (B, T, H) results nobody asked for are not copied out of the kernels' memory
        skip: (['h', 'dh'] as const).filter((k) => !task.include.includes(k)),
      });
      const out: BpttOut = {
        loss: r.loss,
        y: t(r.y, shapes.y),
        hT: t(r.hT, shapes.hT),
        grads: grads(task.config, r.grads),
      };
      if (task.include.includes('h')) out.h = t(r.h, shapes.h);
      if (task.include.includes('logits')) out.logits = t(r.logits, shapes.logits);
      if (task.include.includes('dh')) out.dh = t(r.dh, shapes.dh);
      if (task.include.includes('dx') && r.dx) out.dx = t(r.dx, shapes.dx);
      if (task.include.includes('dh0')) out.dh0 = t(r.dh0, shapes.dh0);
      return out;
    }
    case 'jacobian': {
      const ws = weightShapes(task.config);
      const jac: JacobianOut['jacobian'] = {};
      for (const key of task.wrt)
        jac[key] = t(jacobian(model, batch, key, opts), [B, T, task.config.hiddenSize, ...ws[key]]);
      return { jacobian: jac };
    }
    case 'gradcheck': {
      const eps = task.eps ?? GRADCHECK_DEFAULTS.eps;
      const r = gradcheck(model, batch, task.targets, { ...opts, eps });
      return { ...r, eps, atol: GRADCHECK_DEFAULTS.atol, rtol: GRADCHECK_DEFAULTS.rtol };
    }
  }
}

/** Elements of the largest output tensor, to refuse before computing what could not be sent. */
export function outputElements(task: ComputeTask): number {
  const [B, T] = task.x.shape;
  const { inputSize: d, hiddenSize: H } = task.config;
  switch (task.op) {
    case 'forward':
    case 'bptt':
      return B * T * Math.max(H, d);
    case 'jacobian':
      return Math.max(...task.wrt.map((k) => jacobianSize({ config: task.config }, B, T, k)));
    case 'gradcheck':
      return 0;
  }
}
