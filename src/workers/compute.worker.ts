// A pool worker: runs compute tasks with the kernel backend its pool asked for (workerData.kernels).
import { workerData } from 'node:worker_threads';
import { type ComputeTask, runTask } from '../compute/tasks.js';
import { type KernelChoice, loadKernels } from '../kernels.js';

const { kernels } = loadKernels((workerData as { kernels?: KernelChoice } | undefined)?.kernels ?? 'auto');

export default function compute(task: ComputeTask) {
  return runTask(task, kernels);
}
