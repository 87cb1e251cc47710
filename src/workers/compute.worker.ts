// A pool worker: runs compute tasks with the fastest kernels this machine has.
import { type ComputeTask, runTask } from '../compute/tasks.js';

export default function compute(task: ComputeTask) {
  return runTask(task);
}
