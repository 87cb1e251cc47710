// The compute pool (piscina): heavy compute requests run here, never on the event loop (runs: run-pool.ts).
import { Piscina } from 'piscina';
import type { OffloadJob } from '../compute/offload.js';
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
}

export function createComputePool(opts: PoolOptions): ComputePool {
  const piscina = new Piscina({
    ...workerEntry('compute.worker'),
    minThreads: opts.threads,
    maxThreads: opts.threads,
    idleTimeout: 60_000,
    workerData: { kernels: opts.kernels ?? 'auto' },
  });
  // Admission is counted here rather than by piscina's maxQueue, which does not count the tasks that wait
  // for a worker still starting up: every task beyond the threads is queued, whatever piscina's state.
  let pending = 0; // submitted and not settled
  // an aborted task whose result was already on its way makes piscina emit 'error' (an unknown task id);
  // the task was settled by its abort, and without a listener the emit would crash the process
  piscina.on('error', () => {});
  return {
    threads: opts.threads,
    get queueSize() {
      return Math.max(0, pending - opts.threads);
    },
    get running() {
      return Math.min(pending, opts.threads);
    },
    run: (task: ComputeTask, signal?: AbortSignal) => submit(task, signal) as Promise<TaskOutput>,
    call: (job: OffloadJob, signal?: AbortSignal, transfer?: ArrayBuffer[]) => submit(job, signal, transfer),
    close: () => piscina.destroy(),
  };

  async function submit(message: ComputeTask | OffloadJob, signal?: AbortSignal, transferList?: ArrayBuffer[]) {
    if (pending >= opts.threads + opts.maxQueue) {
      throw new AppError(
        'overloaded',
        `the compute queue is full (UNROLL_POOL_MAX_QUEUE = ${opts.maxQueue})`,
        undefined,
        { 'retry-after': '1' },
      );
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
  }
}
