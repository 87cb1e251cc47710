// Runs compute tasks: refuses what costs too much before any work, runs cheap tasks inline (a message to
// a worker costs more than they do) and the rest in the worker pool, so the event loop stays free.
import { NonFiniteError, ShapeError } from '../core/errors.js';
import type { Kernels } from '../core/kernels.js';
import { paramCount } from '../core/model.js';
import { AppError } from '../errors.js';
import { type ComputeTask, type OutputOf, outputElements, runTask, type TaskOutput } from './tasks.js';

export interface ComputePool {
  readonly threads: number;
  readonly queueSize: number;
  /** Tasks a worker is computing now. */
  readonly running: number;
  run(task: ComputeTask, signal?: AbortSignal): Promise<TaskOutput>;
  close(): Promise<void>;
}

export interface ComputeLimits {
  /** Largest B·T·H·(d+H) (scaled by the op's passes, see taskCost). */
  maxCost: number;
  /** Largest output tensor, in elements. */
  maxOutputElements: number;
  /** At or below this cost a task runs on the event loop. */
  inlineCost: number;
}

/**
 * Multiply-adds of a task, in units of one forward pass B·T·H·(d+H): forward and bptt count one (the cap
 * is stated per forward pass); gradcheck runs 2 forward passes per parameter; the Jacobian's recursion
 * multiplies W by dh_{t−1}/dθ, H more columns per element of θ.
 */
export function taskCost(task: ComputeTask): number {
  const [B, T] = task.x.shape;
  const { inputSize: d, hiddenSize: H } = task.config;
  const pass = B * T * H * (d + H);
  if (task.op === 'gradcheck') return pass * (2 * paramCount(task.config) + 1);
  if (task.op === 'jacobian') return pass + outputElements(task) * H * task.wrt.length;
  return pass;
}

export class ComputeService {
  constructor(
    private readonly limits: ComputeLimits,
    private readonly pool: ComputePool | null,
    private readonly kernels?: Kernels,
    private readonly observe?: (op: string, where: 'inline' | 'pool', seconds: number) => void,
  ) {}

  /** Throws 413 naming the limit when the task is too large to start. */
  admit(task: ComputeTask): number {
    const cost = taskCost(task);
    if (cost > this.limits.maxCost) {
      const [B, T, d] = task.x.shape;
      throw new AppError(
        'too-expensive',
        `this ${task.op} costs ${cost.toExponential(3)} multiply-adds (B·T·H·(d+H) with B=${B}, T=${T}, d=${d}, H=${task.config.hiddenSize}${task.op === 'forward' || task.op === 'bptt' ? '' : `, times the passes ${task.op} makes`}), above UNROLL_MAX_COMPUTE_COST = ${this.limits.maxCost}`,
      );
    }
    const elements = outputElements(task);
    if (elements > this.limits.maxOutputElements) {
      throw new AppError(
        'too-expensive',
        `the ${task.op} result would hold ${elements} elements in one tensor, above UNROLL_MAX_OUTPUT_ELEMENTS = ${this.limits.maxOutputElements}`,
      );
    }
    return cost;
  }

  async run<T extends ComputeTask>(task: T, signal?: AbortSignal): Promise<OutputOf[T['op']]> {
    const cost = this.admit(task);
    const t0 = performance.now();
    const inline = !this.pool || cost <= this.limits.inlineCost;
    const out = inline ? runTask(task, this.kernels) : await this.pool!.run(task, signal);
    this.observe?.(task.op, inline ? 'inline' : 'pool', (performance.now() - t0) / 1000);
    if (out.ok) return out.value as OutputOf[T['op']];
    const e = out.error;
    if (e.kind === 'non-finite') throw new NonFiniteError(e.tensor, e.index, e.value);
    throw new ShapeError(e.message, e.path);
  }
}
