// The run pool (piscina), the RunPool that training declares: one thread per concurrently training run, separate from the compute pool so a
// long run never delays a request. Threads start on demand and leave when idle.
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { KernelChoice } from '../kernels.js';
import { CONTROL_WORDS, type RunPool, type TrainTask } from '../training/protocol.js';
import { workerEntry } from './pool.js';

/** An idle run thread exits after this long; the next run starts a new one. */
const IDLE_MS = 30_000;

export function createRunPool(threads: number, kernels: KernelChoice = 'auto'): RunPool {
  const piscina = new Piscina({
    ...workerEntry('train.worker'),
    minThreads: 0,
    maxThreads: threads,
    // the RunManager keeps the queue; piscina only ever holds running runs
    maxQueue: threads,
    idleTimeout: IDLE_MS,
    workerData: { kernels },
  });
  // a terminated run whose last message was on its way: already settled (see createComputePool)
  piscina.on('error', () => {});
  return {
    threads,
    start(task) {
      const { port1, port2 } = new MessageChannel();
      const control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * Int32Array.BYTES_PER_ELEMENT));
      const abort = new AbortController();
      const full: TrainTask = { ...task, port: port2, control };
      // the tensors move to the thread instead of being copied on the event loop (a run at UNROLL_MAX_PARAMS:
      // 64 MB of weights and a 256 MB checkpoint); the caller does not use them after start
      const tensors = [...Object.values(task.params), task.dataX, task.dataTargets, task.resume?.bytes];
      // (only a buffer an array has to itself: never a pooled Buffer's, which other Buffers share)
      const own = (t: ArrayBufferView | null | undefined): t is ArrayBufferView =>
        !!t && t.buffer instanceof ArrayBuffer && t.byteOffset === 0 && t.byteLength === t.buffer.byteLength;
      const buffers = new Set(tensors.filter(own).map((t) => t.buffer as ArrayBuffer));
      const finished = piscina
        .run(full, { transferList: [port2, ...buffers], signal: abort.signal })
        .then(() => undefined);
      return { port: port1, control, finished, terminate: () => abort.abort() };
    },
    close: () => piscina.destroy(),
  };
}
