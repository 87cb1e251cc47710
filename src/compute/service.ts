// Runs compute tasks: refuses what costs too much before any work, runs cheap tasks inline (a message to
// a worker costs more than they do) and the rest in the worker pool, so the event loop stays free.
import { NonFiniteError, ShapeError } from '../core/errors.js';
import type { Kernels } from '../core/kernels.js';
import { AppError } from '../errors.js';
import { answerBytes, taskCost } from './cost.js';
import { type ComputeTask, type OutputOf, outputElements, runTask, type TaskOutput } from './tasks.js';

export interface ComputePool {
  readonly threads: number;
  readonly queueSize: number;
  /** Tasks a worker is computing now. */
  readonly running: number;
  run(task: ComputeTask, signal?: AbortSignal): Promise<TaskOutput>;
  close(): Promise<void>;
}

/** Reserves the bytes of an answer from the send budget before the work (throws the 503 when they do not fit). */
export type AnswerHold = (bytes: number, what: string) => void;

export interface ComputeLimits {
  /** Largest cost (see taskCost: the multiply-adds, each step's and element's fixed cost, the encoding). */
  maxCost: number;
  /** Largest output tensor, in elements. */
  maxOutputElements: number;
  /** At or below this cost a task runs on the event loop. */
  inlineCost: number;
}

export class ComputeService {
  constructor(
    private readonly limits: ComputeLimits,
    private readonly pool: ComputePool | null,
    private readonly kernels?: Kernels,
    private readonly observe?: (op: string, where: 'inline' | 'pool', seconds: number) => void,
    /** The send budget: an answer that could not be held now is refused before the work (503). */
    private readonly budget?: { check(bytes: number, what: string): void },
  ) {}

  /**
   * Throws 413 naming the limit when the task is too large to start, and 503 when its answer could not be
   * held now. `held`: true when the caller has reserved the answer's bytes itself (a stream op), or the
   * function that reserves them for the caller's answer (an HTTP route: held until the answer is sent).
   */
  admit(task: ComputeTask, held: boolean | AnswerHold = false): number {
    const elements = outputElements(task);
    if (elements > this.limits.maxOutputElements) {
      throw new AppError(
        'too-expensive',
        `the ${task.op} result would hold ${elements} elements in one tensor, above UNROLL_MAX_OUTPUT_ELEMENTS = ${this.limits.maxOutputElements}`,
      );
    }
    const cost = taskCost(task);
    if (cost > this.limits.maxCost) {
      const [B, T, d] = task.x.shape;
      throw new AppError(
        'too-expensive',
        `this ${task.op} costs ${cost.toExponential(3)} multiply-adds (B·T·H·(d+H) with B=${B}, T=${T}, d=${d}, H=${task.config.hiddenSize}${task.op === 'forward' || task.op === 'bptt' ? '' : `, times the passes ${task.op} makes`}, plus a fixed cost per timestep, per value and per number of the answer), above UNROLL_MAX_COMPUTE_COST = ${this.limits.maxCost}`,
      );
    }
    if (typeof held === 'function') held(answerBytes(task), `a ${task.op} answer`);
    else if (!held) this.budget?.check(answerBytes(task), `a ${task.op} answer`);
    return cost;
  }

  async run<T extends ComputeTask>(
    task: T,
    signal?: AbortSignal,
    held: boolean | AnswerHold = false,
  ): Promise<OutputOf[T['op']]> {
    const cost = this.admit(task, held);
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
