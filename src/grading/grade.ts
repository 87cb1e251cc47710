// Grades one submission: each answer read, checked against the student's own reference values, and a
// wrong one recomputed under each known mistake until one matches. Pure: no database, no HTTP.

import type { Question } from '../schemas/grading.js';
import {
  compare,
  firstDifference,
  fmtIndex,
  fmtNum,
  fmtShape,
  indistinguishable,
  parseAnswer,
  sameLayout,
} from './check.js';
import { MISTAKES, type Mistake, type MistakeContext, SHAPE_MISTAKES } from './mistakes.js';
import { type Problem, type Quantity, quantityShape, Solution, type Value } from './quantities.js';

export type Status = 'correct' | 'incorrect' | 'missing' | 'malformed';

export interface QuestionResult {
  id: string;
  quantity: Quantity;
  status: Status;
  points: number;
  maxPoints: number;
  maxAbsError?: number;
  feedback: string;
  mistake?: { id: string; description: string; equation: string };
}

export interface Grade {
  score: number;
  maxScore: number;
  questions: QuestionResult[];
}

export function grade(problem: Problem, questions: readonly Question[], answers: Record<string, unknown>): Grade {
  const ctx = context(problem);
  const results = questions.map((q) => gradeOne(ctx, q, answers[q.id]));
  return {
    score: results.reduce((s, r) => s + r.points, 0),
    maxScore: questions.reduce((s, q) => s + q.points, 0),
    questions: results,
  };
}

function context(problem: Problem): MistakeContext {
  const truth = new Solution(problem);
  const memo = new Map<string, unknown>();
  const once = <T>(key: string, f: () => T): T => {
    if (!memo.has(key)) memo.set(key, f());
    return memo.get(key) as T;
  };
  return {
    problem,
    truth,
    memo: once,
    under: (key, change, truncate) => once(`under:${key}`, () => new Solution(change(problem), truncate)),
  };
}

function gradeOne(ctx: MistakeContext, q: Question, raw: unknown): QuestionResult {
  const { config } = ctx.problem.model;
  const shape = quantityShape(config, ctx.problem.B, ctx.problem.T, q.quantity);
  const expected =
    q.quantity === 'y.shape'
      ? `is a list of ${shape.dims[0]} integers`
      : shape.dims.length === 0
        ? 'is a single number'
        : `has shape ${fmtShape(shape.dims)}, that is (${shape.names.join(', ')})`;
  const base = { id: q.id, quantity: q.quantity, points: 0, maxPoints: q.points };
  if (raw === undefined || raw === null)
    return {
      ...base,
      status: 'missing',
      feedback: `No answer was given for ${q.id}; ${q.quantity} ${expected}.`,
    };
  const parsed = parseAnswer(raw);
  if (!parsed.ok)
    return {
      ...base,
      status: 'malformed',
      feedback: `The answer for ${q.id} could not be read (${parsed.reason}); ${q.quantity} ${expected}.`,
    };
  const answer = parsed.value;
  const truth = ctx.truth.value(q.quantity);
  if (q.quantity === 'y.shape') return gradeShape(ctx, q, base, answer, truth, shape.names);
  if (!sameLayout(answer.shape, truth.shape))
    return {
      ...base,
      status: 'malformed',
      feedback: `The answer for ${q.id} has shape ${fmtShape(answer.shape)}, but ${q.quantity} ${expected}.`,
    };
  const c = compare(answer.data, truth.data, q);
  const within = `atol ${q.atol} + rtol ${q.rtol}·|reference|`;
  const one = c.n === 1;
  if (c.pass)
    return {
      ...base,
      status: 'correct',
      points: q.points,
      maxAbsError: c.maxAbsError,
      feedback: one
        ? `${q.quantity} is within ${within} of the reference (error ${fmtNum(c.maxAbsError)}).`
        : `All ${c.n} values of ${q.quantity} are within ${within} of the reference; the largest error is ${fmtNum(c.maxAbsError)}.`,
    };
  let feedback = one
    ? `${q.quantity} is ${fmtNum(c.maxAbsError)} away from the reference, more than ${within} allows.`
    : `${c.bad} of ${c.n} values of ${q.quantity} are farther from the reference than ${within}; the largest error is ${fmtNum(c.maxAbsError)}${fmtIndex(c.worst, truth.shape)}.`;
  const { B, T } = ctx.problem;
  if (shape.names[0] === 'B' && shape.names[1] === 'T') {
    const first = firstDifference(answer.data, truth.data, q, B, T);
    if (first)
      feedback += ` Your ${q.quantity} first differs at t = ${first.t}, b = ${first.b}: ${fmtNum(answer.data[first.index])} vs ${fmtNum(truth.data[first.index])}${fmtIndex(first.index, truth.shape)}, so that is where to look.`;
  }
  // partial credit: the share of elements within the tolerance, rounded to 1e-6 of a point
  const points = q.partial && !one ? Math.round((q.points * (c.n - c.bad) * 1e6) / c.n) / 1e6 : 0;
  if (q.partial && !one)
    feedback += ` Partial credit: ${c.n - c.bad} of ${c.n} values within tolerance, ${fmtNum(points)} of ${q.points} points.`;
  const m = nameMistake(ctx, q, answer, truth);
  return {
    ...base,
    status: 'incorrect',
    points,
    maxAbsError: c.maxAbsError,
    feedback: m ? `${feedback} ${mistakeSentence(m)}` : feedback,
    ...(m ? { mistake: { id: m.id, description: m.description, equation: m.equation } } : {}),
  };
}

const mistakeSentence = (m: Pick<Mistake, 'description' | 'equation' | 'advice'>) =>
  `It matches ${m.description}: your numbers follow ${m.equation}. ${m.advice}`;

/**
 * y.shape is a list of integers, compared exactly: a wrong one gets a sentence about the shape, and the
 * classic confusions (the axes swapped, the hidden state's shape) are named like the other mistakes.
 */
function gradeShape(
  ctx: MistakeContext,
  q: Question,
  base: Pick<QuestionResult, 'id' | 'quantity' | 'points' | 'maxPoints'>,
  answer: Value,
  truth: Value,
  _names: string[],
): QuestionResult {
  const { config } = ctx.problem.model;
  const got = [...answer.data];
  const want = [...truth.data];
  const letters = config.readout === 'all' ? '(B, T, C)' : '(B, C)';
  if (got.length === want.length && got.every((v, i) => v === want[i]))
    return { ...base, status: 'correct', points: q.points, feedback: `y has shape ${fmtShape(want)}, ${letters}.` };
  const feedback =
    got.length !== want.length
      ? `The shape ${fmtShape(got)} given for ${q.id} has ${got.length} axes, but the output y has ${want.length}: ${fmtShape(want)}, that is ${letters}.`
      : `The shape ${fmtShape(got)} given for ${q.id} is not the shape of y, which is ${fmtShape(want)}, that is ${letters}.`;
  const m = SHAPE_MISTAKES.find((s) => s.matches(got, want, ctx.problem));
  return {
    ...base,
    status: 'incorrect',
    feedback: m ? `${feedback} ${mistakeSentence(m)}` : feedback,
    ...(m ? { mistake: { id: m.id, description: m.description, equation: m.equation } } : {}),
  };
}

/**
 * The first mistake whose recomputed value the answer matches. A variant that coincides with the truth
 * (one-step BPTT when T = 1, say) cannot explain a wrong answer and is passed over; a variant that
 * cannot be computed (a relu network that overflows) is too.
 */
export function nameMistake(ctx: MistakeContext, q: Question, answer: Value, truth: Value): Mistake | undefined {
  for (const m of MISTAKES) {
    if (!m.applies(q.quantity, ctx.problem)) continue;
    let candidates: Value[];
    try {
      candidates = m.compute(ctx, q.quantity);
    } catch {
      continue;
    }
    for (const v of candidates) {
      if (v.data.length !== answer.data.length || indistinguishable(v, truth, q)) continue;
      if (compare(answer.data, v.data, q).pass) return m;
    }
  }
  return undefined;
}
