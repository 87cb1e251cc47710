// Runs compute tasks: refuses what costs too much before any work, runs cheap tasks inline (a message to
// a worker costs more than they do) and the rest in the worker pool, so the event loop stays free.
import { NonFiniteError, ShapeError } from '../core/errors.js';
import type { Kernels } from '../core/kernels.js';
import { AppError } from '../errors.js';
import { answerBytes, taskCost } from './cost.js';
import {
  buffersOf,
  type ComputeEncodeResult,
  type DecodeJob,
  type DecodeResult,
  type DecodeSpec,
  type EncodeAs,
  EncodedJson,
  type OffloadJob,
  transferable,
  type WireError,
} from './offload-wire.js';
import type { FramesSpec } from './stream-frames.js';
import { type ComputeTask, type OutputOf, outputElements, runTask, type TaskOutput } from './tasks.js';

export interface ComputePool {
  readonly threads: number;
  readonly queueSize: number;
  /** Tasks a worker is computing now. */
  readonly running: number;
  run(task: ComputeTask, signal?: AbortSignal): Promise<TaskOutput>;
  /** The offload jobs (compute/offload.ts); `transfer`: buffers moved to the worker rather than copied. */
  call?(job: OffloadJob, signal?: AbortSignal, transfer?: ArrayBuffer[]): Promise<unknown>;
  /** A task computed on a compute thread and its answer encoded there as `as` (the numbers never cross back). */
  runEncoded?(task: ComputeTask, as: EncodeAs, signal?: AbortSignal): Promise<ComputeEncodeResult>;
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
  /**
   * UNROLL_OFFLOAD_BYTES: bodies and answers larger than this are parsed, validated and encoded in the pool
   * (when there is one); absent, Infinity: never.
   */
  offloadBytes?: number;
}

/** A body the worker could not decode: the error, as data, that the caller rebuilds (see offload.ts). */
export class DecodeFailure extends Error {
  constructor(
    readonly wire: WireError,
    readonly id?: string,
  ) {
    super('the body could not be decoded');
  }
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

  /** Whether a body or an answer of `bytes` is parsed / encoded in the pool rather than on the event loop. */
  offloads(bytes: number): boolean {
    return Boolean(this.pool?.call) && bytes > (this.limits.offloadBytes ?? Number.POSITIVE_INFINITY);
  }

  /**
   * Parses and validates a body in the pool (only call when offloads(body.length)); returns what the inline
   * path has after its parser and validator, or throws DecodeFailure with the error they would have made.
   */
  async decode(job: DecodeSpec, bytes: Buffer, signal?: AbortSignal): Promise<unknown> {
    const body = transferable(bytes);
    const r = (await this.pool!.call!({ ...job, body } as DecodeJob, signal, [
      body.buffer as ArrayBuffer,
    ])) as DecodeResult;
    if (!r.ok) throw new DecodeFailure(r.error, r.id);
    return r.value;
  }

  /**
   * run(), for an HTTP answer: the same admission and compute, then the value for the route's serializer,
   * or (when the answer's estimate is above the offload size) the answer encoded as `as` in the pool.
   */
  async answer<T extends ComputeTask>(
    task: T,
    as: EncodeAs,
    signal?: AbortSignal,
    held: boolean | AnswerHold = false,
  ): Promise<OutputOf[T['op']] | EncodedJson> {
    const cost = this.admit(task, held);
    const bytes = answerBytes(task);
    const pooled = Boolean(this.pool) && cost > this.limits.inlineCost;
    if (pooled && this.pool!.runEncoded && this.offloads(bytes)) {
      // computed and encoded by one compute thread: no copy of the result back, no wait in the codec queue
      // behind other requests' parses (docs/kernels.md O4)
      const t0 = performance.now();
      const out = await this.pool!.runEncoded(task, as, signal);
      this.observe?.(task.op, 'pool', (performance.now() - t0) / 1000);
      if (!out.ok) throw taskError(out.error);
      const e = out.encoded;
      return new EncodedJson(Buffer.from(e.buffer, e.byteOffset, e.byteLength));
    }
    const { value } = await this.compute(task, cost, signal);
    // a result that came from a worker is this thread's own copy: its buffers move on to the encoder
    return (await this.encode(as, value, bytes, signal, pooled)) ?? value;
  }

  /**
   * Encodes a value as `as` would serialize it, in the pool when it is larger than the offload size (null:
   * let the route's serializer do it). `moved`: the value's buffers may be transferred (nothing else holds them).
   */
  async encode(
    as: EncodeAs,
    value: unknown,
    bytes: number,
    signal?: AbortSignal,
    moved = false,
  ): Promise<EncodedJson | null> {
    if (!this.offloads(bytes)) return null;
    const transfer = moved ? buffersOf(value) : undefined;
    const out = (await this.pool!.call!({ kind: 'encode', as, value }, signal, transfer)) as Uint8Array;
    return new EncodedJson(Buffer.from(out.buffer, out.byteOffset, out.byteLength));
  }

  /** A stream op's frames encoded in the pool when large (null: the caller encodes them as it sends). */
  async frames(spec: FramesSpec, bytes: number, signal?: AbortSignal): Promise<Buffer[] | null> {
    if (!this.offloads(bytes)) return null;
    const out = (await this.pool!.call!({ kind: 'frames', spec }, signal)) as { bytes: Uint8Array; ends: number[] };
    const all = Buffer.from(out.bytes.buffer, out.bytes.byteOffset, out.bytes.byteLength);
    return out.ends.map((end, i) => all.subarray(i ? out.ends[i - 1] : 0, end));
  }

  async run<T extends ComputeTask>(
    task: T,
    signal?: AbortSignal,
    held: boolean | AnswerHold = false,
  ): Promise<OutputOf[T['op']]> {
    return (await this.execute(task, signal, held)).value;
  }

  private async execute<T extends ComputeTask>(
    task: T,
    signal: AbortSignal | undefined,
    held: boolean | AnswerHold,
  ): Promise<{ value: OutputOf[T['op']]; pooled: boolean }> {
    return this.compute(task, this.admit(task, held), signal);
  }

  /** Computes an admitted task of `cost`: inline at or below UNROLL_INLINE_COST (or without a pool), else in the pool. */
  private async compute<T extends ComputeTask>(
    task: T,
    cost: number,
    signal: AbortSignal | undefined,
  ): Promise<{ value: OutputOf[T['op']]; pooled: boolean }> {
    const t0 = performance.now();
    const inline = !this.pool || cost <= this.limits.inlineCost;
    const out = inline ? runTask(task, this.kernels) : await this.pool!.run(task, signal);
    this.observe?.(task.op, inline ? 'inline' : 'pool', (performance.now() - t0) / 1000);
    if (out.ok) return { value: out.value as OutputOf[T['op']], pooled: !inline };
    throw taskError(out.error);
  }
}

function taskError(e: Extract<TaskOutput, { ok: false }>['error']): Error {
  if (e.kind === 'non-finite') return new NonFiniteError(e.tensor, e.index, e.value);
  return new ShapeError(e.message, e.path);
}
