// The compute pool (piscina): heavy compute requests run here, never on the event loop (runs: run-pool.ts).
// Beside the compute threads, one codec thread parses, validates and encodes large bodies and answers (the
// offload jobs of compute/offload.ts): it takes over what the event loop did for them, so a parse never waits
// in the queue behind the computes, and the compute threads do only compute.
import { Piscina } from 'piscina';
import type { ComputeEncodeJob, ComputeEncodeResult, EncodeAs, OffloadJob } from '../compute/offload-wire.js';
import type { ComputePool } from '../compute/service.js';
import type { ComputeTask, TaskOutput } from '../compute/tasks.js';
import { CancelledError } from '../core/errors.js';
import { AppError } from '../errors.js';
import type { KernelChoice } from '../kernels.js';

/** Where a worker entry point is: next to this file, as .ts under tsx/vitest (with tsx as the loader) or .js when built. */
export function workerEntry(name: string): { filename: string; execArgv?: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const filename = new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, import.meta.url).href;
  return fromSource ? { filename, execArgv: [...process.execArgv, '--import', 'tsx'] } : { filename };
}

export interface PoolOptions {
  threads: number;
  maxQueue: number;
  /** The kernel backend each worker loads. */
  kernels?: KernelChoice;
  /** Threads for the offload jobs (parse, validate, encode); 1 by default, the one event loop they relieve. */
  codecThreads?: number;
}

/** A piscina pool whose admission is counted here (see below), with the 503 of a full queue. */
function boundedPool(threads: number, maxQueue: number, kernels: KernelChoice, what: string) {
  const piscina = new Piscina({
    ...workerEntry('compute.worker'),
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 60_000,
    workerData: { kernels },
  });
  // Admission is counted here rather than by piscina's maxQueue, which does not count the tasks that wait
  // for a worker still starting up: every task beyond the threads is queued, whatever piscina's state.
  let pending = 0; // submitted and not settled
  // an aborted task whose result was already on its way makes piscina emit 'error' (an unknown task id);
  // the task was settled by its abort, and without a listener the emit would crash the process
  piscina.on('error', () => {});
  return {
    get pending() {
      return pending;
    },
    async submit(
      message: ComputeTask | OffloadJob | ComputeEncodeJob,
      signal?: AbortSignal,
      transferList?: ArrayBuffer[],
    ) {
      if (pending >= threads + maxQueue) {
        throw new AppError('overloaded', `the ${what} queue is full (UNROLL_POOL_MAX_QUEUE = ${maxQueue})`, undefined, {
          'retry-after': '1',
        });
      }
      pending++;
      try {
        return await piscina.run(message, { signal, ...(transferList?.length ? { transferList } : {}) });
      } catch (e) {
        if (signal?.aborted) throw new CancelledError('the client went away; its task was dropped');
        throw e;
      } finally {
        pending--;
      }
    },
    close: () => piscina.destroy(),
  };
}

export function createComputePool(opts: PoolOptions): ComputePool {
  const kernels = opts.kernels ?? 'auto';
  const compute = boundedPool(opts.threads, opts.maxQueue, kernels, 'compute');
  // started on the first offload job: a server that never sees a large body never starts it
  let codec: ReturnType<typeof boundedPool> | null = null;
  return {
    threads: opts.threads,
    get queueSize() {
      return Math.max(0, compute.pending - opts.threads);
    },
    get running() {
      return Math.min(compute.pending, opts.threads);
    },
    run: (task: ComputeTask, signal?: AbortSignal) => compute.submit(task, signal) as Promise<TaskOutput>,
    runEncoded: (task: ComputeTask, as: EncodeAs, signal?: AbortSignal) =>
      compute.submit({ kind: 'compute', task, as }, signal) as Promise<ComputeEncodeResult>,
    call: (job: OffloadJob, signal?: AbortSignal, transfer?: ArrayBuffer[]) => {
      codec ??= boundedPool(opts.codecThreads ?? 1, opts.maxQueue, kernels, 'offload');
      return codec.submit(job, signal, transfer);
    },
    close: async () => {
      await Promise.all([compute.close(), codec?.close()]);
    },
  };
}
