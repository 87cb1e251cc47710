// Problems and answers for the grading tests: fixed secrets, the reference values from the core, and
// one-question grading, so each test states only the answer it builds.
import { bptt } from '../../src/core/bptt.js';
import type { ElmanConfig } from '../../src/core/model.js';
import { type Nested, toNested } from '../../src/core/tensor.js';
import { DEFAULT_ATOL, DEFAULT_RTOL } from '../../src/grading/check.js';
import { grade, type QuestionResult } from '../../src/grading/grade.js';
import { deriveProblem, type ProblemSpec } from '../../src/grading/problems.js';
import type { Problem, Quantity } from '../../src/grading/quantities.js';

export const SECRET = Buffer.alloc(32, 7);

export const SHEET_EX2: ProblemSpec = {
  config: { inputSize: 7, hiddenSize: 10, outputSize: 3, activation: 'tanh', readout: 'last' },
  batch: 5,
  steps: 13,
  zeroBias: false,
};
export const SCALAR: ProblemSpec = {
  config: { inputSize: 1, hiddenSize: 1, outputSize: 2, activation: 'tanh', readout: 'last' },
  batch: 1,
  steps: 4,
  zeroBias: true,
};

export function problemOf(spec: ProblemSpec, change: Partial<ElmanConfig> = {}, student = 'alice'): Problem {
  return deriveProblem({ ...spec, config: { ...spec.config, ...change } }, SECRET, student);
}

export const batchOf = (p: Problem) => ({ x: p.x, B: p.B, T: p.T });
export const reference = (p: Problem, truncate?: number) =>
  bptt(p.model, batchOf(p), p.targets, { wantDx: true, truncate });

/** Grades one question asking for `quantity` with the default tolerances. */
export function gradeOne(p: Problem, quantity: Quantity, answer: unknown): QuestionResult {
  const q = { id: 'q', quantity, points: 1, rtol: DEFAULT_RTOL, atol: DEFAULT_ATOL };
  return grade(p, [q], { q: answer }).questions[0];
}

export const nested = (data: ArrayLike<number>, shape: readonly number[]): Nested => toNested(data, shape);
