// What a compute task costs, counted before any work, in units of multiply-adds. B·T·H·(d+H) (one forward
// pass) is the familiar part, but not all of it: every timestep has a fixed cost whatever its width (kernel
// calls, loop bookkeeping), every value a step produces passes through tanh, softmax and the loss, and every
// number of the answer has to be encoded as JSON. Measured on the wasm and js kernels (B = 1, T = 10⁵,
// d = H = 1: ~0.5 µs per step and pass; ~25 ns per elementwise value; ~30–170 ns (idle to loaded) and ~20 bytes per encoded
// number; a multiply-add of a wide GEMM costs ~0.1–0.3 ns), so that each term is in multiply-add units.
import { resultShapes } from '../core/elman.js';
import { jacobianSize } from '../core/jacobian.js';
import { forwardCost, paramCount } from '../core/model.js';
import type { ComputeTask } from './tasks.js';

/** Fixed work of one timestep in one pass, in multiply-add equivalents (~0.5 µs). */
export const STEP_COST = 2_000;
/** One elementwise value (an activation, a probability, their derivatives), in multiply-add equivalents. */
export const ELEMENT_COST = 50;
/** Encoding one number of the answer as JSON, in multiply-add equivalents. */
export const ENCODE_COST = 100;
/** Upper bound of one float64 as JSON text with its separator ("-1.2345678901234567e-123,"). */
export const JSON_BYTES_PER_NUMBER = 25;

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Passes over the sequence an op makes (forward; forward and backward). */
function passes(task: ComputeTask): number {
  if (task.op === 'forward') return 1;
  if (task.op === 'bptt') return 2;
  if (task.op === 'jacobian') return 1 + task.wrt.length;
  return 2 * paramCount(task.config) + 1; // gradcheck: two forward passes per parameter, and the BPTT
}

/** Numbers in the answer (every tensor of the response), so its encoding and its bytes are known up front. */
export function answerElements(task: ComputeTask): number {
  const [B, T] = task.x.shape;
  const s = resultShapes(task.config, B, T);
  const include = 'include' in task ? task.include : [];
  const extra = include.reduce((n, k) => n + (k in s ? size(s[k as keyof typeof s]) : 0), 0);
  switch (task.op) {
    case 'forward':
      return size(s.y) + size(s.hT) + extra;
    case 'bptt':
      return size(s.y) + size(s.hT) + paramCount(task.config) + extra;
    case 'jacobian':
      return task.wrt.reduce((n, k) => n + jacobianSize({ config: task.config }, B, T, k), 0);
    case 'gradcheck':
      return 2 * paramCount(task.config);
  }
}

/** The bytes of the answer as JSON, at most. */
export function answerBytes(task: ComputeTask): number {
  return answerElements(task) * JSON_BYTES_PER_NUMBER;
}

/**
 * The task's cost: its multiply-adds (one forward pass for forward and bptt, as UNROLL_MAX_COMPUTE_COST is
 * stated; gradcheck's 2·P + 1 passes; the Jacobian's recursion, H more columns per element of θ), plus the
 * fixed cost of each timestep of each pass, the elementwise work of each row, and the answer's encoding.
 */
export function taskCost(task: ComputeTask): number {
  const [B, T] = task.x.shape;
  const { hiddenSize: H, outputSize: C } = task.config;
  const pass = forwardCost(task.config, B, T);
  let madds = pass;
  if (task.op === 'gradcheck') madds = pass * passes(task);
  if (task.op === 'jacobian')
    madds = pass + task.wrt.reduce((n, k) => n + jacobianSize({ config: task.config }, B, T, k), 0) * H;
  const p = passes(task);
  const steps = p * T * STEP_COST;
  const elementwise = p * B * T * (H + C) * ELEMENT_COST;
  return madds + steps + elementwise + answerElements(task) * ENCODE_COST;
}
