// An assignment's fixed part (config, B, T, questions) from a request or a preset, and what grading it costs.
import { toElmanConfig } from '../compute/models.js';
import { jacobianSize } from '../core/jacobian.js';
import { forwardCost } from '../core/model.js';
import type { AssignmentSpec, CreateAssignmentBody, PresetName, Question, QuestionInput } from '../schemas/grading.js';
import { DEFAULT_ATOL, DEFAULT_RTOL } from './check.js';

export type { AssignmentSpec, PresetName } from '../schemas/grading.js';

const DEFAULT_POINTS = 1;
const q = (id: string, quantity: Question['quantity'], points: number): Question => ({
  id,
  quantity,
  points,
  rtol: DEFAULT_RTOL,
  atol: DEFAULT_ATOL,
});

/**
 * The exercise sheet. sheet-ex2: myRNN(d = 7, H = 10, C = 3) on B = 5 sequences of T = 13 steps, with the
 * question the sheet asks (out.size(), answered as the list [5, 3]) and the values it prints. sheet-ex3: a
 * scalar network (d = H = 1) without biases, as the sheet's h_t = tanh(U x_t + W h_{t−1}), asking for h_t
 * and for dh_t/dU at every t (Exercise 3's recursion); C = 2 because a readout needs two classes to mean anything.
 */
export const PRESETS: Readonly<Record<PresetName, AssignmentSpec>> = {
  'sheet-ex2': {
    title: 'Exercise 2: myRNN on B = 5 sequences of T = 13 steps',
    preset: 'sheet-ex2',
    config: { inputSize: 7, hiddenSize: 10, outputSize: 3, activation: 'tanh', readout: 'last' },
    batch: 5,
    steps: 13,
    zeroBias: false,
    questions: [q('out-shape', 'y.shape', 1), q('y', 'y', 2), q('hT', 'hT', 1), q('loss', 'loss', 1)],
  },
  'sheet-ex3': {
    title: 'Exercise 3: dh_t/dU of a scalar network at every t',
    preset: 'sheet-ex3',
    config: { inputSize: 1, hiddenSize: 1, outputSize: 2, activation: 'tanh', readout: 'last' },
    batch: 1,
    steps: 4,
    zeroBias: true,
    questions: [q('h', 'h', 1), q('dh_dU', 'jacobian.U.weight', 3)],
  },
};

/** The body over its preset (if any): every field the body gives replaces the preset's. */
export function resolveSpec(body: CreateAssignmentBody): AssignmentSpec {
  const base = body.preset ? PRESETS[body.preset] : undefined;
  // the schema guarantees these without a preset
  return {
    title: body.title ?? base!.title,
    preset: body.preset ?? null,
    config: body.config ? toElmanConfig(body.config) : base!.config,
    batch: body.batch ?? base!.batch,
    steps: body.steps ?? base!.steps,
    zeroBias: body.zeroBias ?? base?.zeroBias ?? false,
    questions: body.questions ? resolveQuestions(body.questions) : base!.questions,
  };
}

export const resolveQuestions = (questions: readonly QuestionInput[]): Question[] =>
  questions.map((x) => ({
    id: x.id,
    quantity: x.quantity,
    points: x.points ?? DEFAULT_POINTS,
    rtol: x.rtol ?? DEFAULT_RTOL,
    atol: x.atol ?? DEFAULT_ATOL,
    ...(x.partial ? { partial: true } : {}),
  }));

/**
 * Multiply-adds of the reference values, in the compute cap's unit: one BPTT, B·T·H·(d+H), plus the
 * recursion of each Jacobian asked for (H per element). Naming a mistake recomputes a quantity under at
 * most a dozen variants, so a wrong submission costs a small constant times this.
 */
export function gradingCost(spec: AssignmentSpec): number {
  const { batch: B, steps: T, config } = spec;
  let cost = forwardCost(config, B, T);
  const keys = new Set(spec.questions.filter((x) => x.quantity.startsWith('jacobian.')).map((x) => x.quantity));
  for (const k of keys)
    cost += jacobianSize({ config }, B, T, k.slice('jacobian.'.length) as 'U.weight') * config.hiddenSize;
  return cost;
}
