// A pool worker: runs compute tasks with the kernel backend its pool asked for (workerData.kernels), and the
// offload jobs of compute/offload.ts (parse and validate a large body, encode a large answer).
import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { encodeJson, runOffloadJob } from '../compute/offload.js';
import { type ComputeEncodeJob, type OffloadJob, transferable } from '../compute/offload-wire.js';
import { type ComputeTask, runTask } from '../compute/tasks.js';
import { type KernelChoice, loadKernels } from '../kernels.js';

const { kernels } = loadKernels((workerData as { kernels?: KernelChoice } | undefined)?.kernels ?? 'auto');

export default function compute(message: ComputeTask | OffloadJob | ComputeEncodeJob) {
  if (!('kind' in message)) return runTask(message, kernels);
  if (message.kind === 'compute') {
    // compute, then encode here: the result's numbers never cross back, only the answer's bytes (moved)
    const out = runTask(message.task, kernels);
    if (!out.ok) return out;
    const encoded = transferable(encodeJson(message.as, out.value));
    return move({ [transferableSymbol]: [encoded.buffer], [valueSymbol]: { ok: true, encoded } } as never);
  }
  const { value, transfer } = runOffloadJob(message);
  if (transfer.length === 0) return value;
  // piscina's Transferable: the value goes back with these buffers moved, not copied
  return move({ [transferableSymbol]: transfer, [valueSymbol]: value } as never);
}
