// The compute pool (piscina): heavy compute requests run here, never on the event loop (runs: run-pool.ts).
import { Piscina } from 'piscina';
import type { ComputePool } from '../compute/service.js';
import type { ComputeTask, TaskOutput } from '../compute/tasks.js';
import { CancelledError } from '../core/errors.js';
import { AppError } from '../errors.js';

/** Where a worker entry point is: next to this file, as .ts under tsx/vitest (with tsx as the loader) or .js when built. */
export function workerEntry(name: string): { filename: string; execArgv?: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const filename = new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, import.meta.url).href;
  return fromSource ? { filename, execArgv: [...process.execArgv, '--import', 'tsx'] } : { filename };
}

export interface PoolOptions {
  threads: number;
  maxQueue: number;
}

export function createComputePool(opts: PoolOptions): ComputePool {
  const piscina = new Piscina({
    ...workerEntry('compute.worker'),
    minThreads: opts.threads,
    maxThreads: opts.threads,
    maxQueue: opts.maxQueue,
    idleTimeout: 60_000,
  });
  // an aborted task whose result was already on its way makes piscina emit 'error' (an unknown task id);
  // the task was settled by its abort, and without a listener the emit would crash the process
  piscina.on('error', () => {});
  return {
    threads: opts.threads,
    get queueSize() {
      return piscina.queueSize;
    },
    async run(task: ComputeTask, signal?: AbortSignal): Promise<TaskOutput> {
      try {
        return (await piscina.run(task, { signal })) as TaskOutput;
      } catch (e) {
        if (signal?.aborted) throw new CancelledError('the client went away; its task was dropped');
        if (e instanceof Error && /queue is at limit/i.test(e.message)) {
          throw new AppError(
            'overloaded',
            `the compute queue is full (UNROLL_POOL_MAX_QUEUE = ${opts.maxQueue})`,
            undefined,
            { 'retry-after': '1' },
          );
        }
        throw e;
      }
    },
    close: () => piscina.destroy(),
  };
}
