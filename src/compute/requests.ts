// Validated request bodies (inline or for a stored model) into compute tasks.
import type { ElmanModel } from '../core/model.js';
import { RequestValidationError } from '../errors.js';
import {
  type BpttInput,
  batchIssues,
  type ForwardInput,
  type GradcheckInput,
  type JacobianInput,
} from '../schemas/compute.js';
import type { TensorData } from '../schemas/tensor.js';
import type { ComputeTask } from './tasks.js';

type Op = ComputeTask['op'];
type Input<O extends Op> = O extends 'forward'
  ? ForwardInput
  : O extends 'bptt'
    ? BpttInput
    : O extends 'jacobian'
      ? JacobianInput
      : GradcheckInput;

const plain = (t: TensorData) => ({ data: t.data, shape: [...t.shape] });

/**
 * The task for one op. Inline bodies were cross-checked against their config by the schema; bodies for
 * a stored model are checked here, against the stored config, with the same issues.
 */
export function toTask<O extends Op>(
  op: O,
  model: ElmanModel,
  body: Input<O>,
  stored = false,
): Extract<ComputeTask, { op: O }> {
  if (stored) {
    const issues = batchIssues(model.config, body as { x: TensorData; h0?: TensorData; targets?: TensorData });
    if (issues.length) throw new RequestValidationError(issues);
  }
  return build(op, model, body) as Extract<ComputeTask, { op: O }>;
}

function build(op: Op, model: ElmanModel, body: Input<Op>): ComputeTask {
  const base = {
    config: model.config,
    params: model.params,
    x: plain(body.x),
    h0: body.h0 ? plain(body.h0) : undefined,
  };
  switch (op) {
    case 'forward':
      return { ...base, op, include: (body as ForwardInput).include ?? [] };
    case 'bptt': {
      const b = body as BpttInput;
      return { ...base, op, targets: b.targets.data, truncate: b.truncate, include: b.include ?? [] };
    }
    case 'jacobian':
      return { ...base, op, wrt: [...new Set((body as JacobianInput).wrt)] };
    default: {
      const b = body as GradcheckInput;
      return { ...base, op: 'gradcheck', targets: b.targets.data, eps: b.eps };
    }
  }
}
