// Each mistake in the catalogue: a test builds the wrong answer on its own (from the core or by hand, not
// with the catalogue's function) and sees the mistake named; correct answers are never named a mistake.
import { describe, expect, it } from 'vitest';
import { forward } from '../../src/core/elman.js';
import { jacobian } from '../../src/core/jacobian.js';
import type { ElmanConfig, Params } from '../../src/core/model.js';
import { MISTAKE_IDS } from '../../src/grading/mistakes.js';
import { type Problem, QUANTITIES, type Quantity, Solution } from '../../src/grading/quantities.js';
import { batchOf, gradeOne, nested, problemOf, reference, SCALAR, SHEET_EX2 } from '../helpers/grading.js';

const sheet = problemOf(SHEET_EX2); // B = 5, T = 13, d = 7, H = 10, C = 3
const scalar = problemOf(SCALAR); // d = H = 1, T = 4, no biases
const truth = reference(sheet);

const yOf = (p: Problem, config: Partial<ElmanConfig> = {}, params: Partial<Params> = {}, x = p.x, T = p.T) =>
  forward({ config: { ...p.model.config, ...config }, params: { ...p.model.params, ...params } }, { x, B: p.B, T }).y;
const zeros = (a: Float64Array) => new Float64Array(a.length);
/** softmax along `axis` of a (rows, cols) matrix. */
function softmax(z: Float64Array, rows: number, cols: number, axis: 0 | 1): Float64Array {
  const y = new Float64Array(z.length);
  const [outer, inner] = axis === 1 ? [rows, cols] : [cols, rows];
  const at = (o: number, i: number) => (axis === 1 ? o * cols + i : i * cols + o);
  for (let o = 0; o < outer; o++) {
    let s = 0;
    for (let i = 0; i < inner; i++) s += Math.exp(z[at(o, i)]);
    for (let i = 0; i < inner; i++) y[at(o, i)] = Math.exp(z[at(o, i)]) / s;
  }
  return y;
}
/** The scalar network's h_t and x_t, to write Exercise 3's recursion out by hand. */
const scalarH = forward(scalar.model, batchOf(scalar)).h;
const W = scalar.model.params.W[0];

interface Case {
  problem: Problem;
  quantity: Quantity;
  answer: unknown;
}
const { B, T } = sheet;
const { outputSize: C, hiddenSize: H, inputSize: d } = sheet.model.config;
const CASES: Record<string, () => Case> = {
  'sign-error': () => ({
    problem: sheet,
    quantity: 'grads.U.weight',
    answer: nested(
      truth.grads.U.map((v) => -v),
      [H, d],
    ),
  }),
  'sum-instead-of-mean': () => ({ problem: sheet, quantity: 'loss', answer: truth.loss * B }),
  'transposed-gradient': () => {
    const g = truth.grads.W;
    return {
      problem: sheet,
      quantity: 'grads.W.weight',
      answer: nested(
        g.map((_, k) => g[(k % H) * H + Math.floor(k / H)]),
        [H, H],
      ),
    };
  },
  'logits-not-probabilities': () => ({ problem: sheet, quantity: 'y', answer: nested(truth.logits, [B, C]) }),
  'softmax-wrong-axis': () => ({
    problem: sheet,
    quantity: 'y',
    answer: nested(softmax(truth.logits, B, C, 0), [B, C]),
  }),
  'relu-instead-of-tanh': () => ({
    problem: sheet,
    quantity: 'y',
    answer: nested(yOf(sheet, { activation: 'relu' }), [B, C]),
  }),
  'no-recurrence': () => ({
    problem: sheet,
    quantity: 'y',
    answer: nested(yOf(sheet, {}, { W: zeros(sheet.model.params.W) }), [B, C]),
  }),
  'missing-bias': () => ({
    problem: sheet,
    quantity: 'y',
    // b_W forgotten in the cell, b_V kept: one of the forms the entry tries
    answer: nested(yOf(sheet, {}, { bW: zeros(sheet.model.params.bW) }), [B, C]),
  }),
  'first-step-readout': () => {
    // softmax(V h_0 + b_V), by hand from the true h
    const { V, bV } = sheet.model.params;
    const z = new Float64Array(B * C);
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++) {
        z[b * C + c] = bV[c];
        for (let i = 0; i < H; i++) z[b * C + c] += V[c * H + i] * truth.h[b * T * H + i];
      }
    return { problem: sheet, quantity: 'y', answer: nested(softmax(z, B, C, 1), [B, C]) };
  },
  'wrong-sequence-length': () => {
    // the sheet's T = x.size(-1) = d = 7: the loop stops after 7 of the 13 steps
    const x = new Float64Array(B * d * d);
    for (let b = 0; b < B; b++) x.set(sheet.x.subarray(b * T * d, (b * T + d) * d), b * d * d);
    return { problem: sheet, quantity: 'y', answer: nested(yOf(sheet, {}, {}, x, d), [B, C]) };
  },
  'gradient-one-step': () => {
    // dh_t/dU = (1 − h_t²) x_t: Exercise 3's recursion without W dh_{t−1}/dU
    const J = scalarH.map((h, t) => (1 - h * h) * scalar.x[t]);
    return { problem: scalar, quantity: 'jacobian.U.weight', answer: [...J] };
  },
  'missing-activation-derivative': () => {
    // dh_t/dU = x_t + W dh_{t−1}/dU: the recursion without (1 − h_t²)
    const J: number[] = [];
    for (let t = 0; t < scalar.T; t++) J.push(scalar.x[t] + (t > 0 ? W * J[t - 1] : 0));
    return { problem: scalar, quantity: 'jacobian.U.weight', answer: J };
  },
  // Exercise 2's out.size() = (5, 3): the axes swapped, the hidden state's shape, one prediction per step
  'transposed-output-shape': () => ({ problem: sheet, quantity: 'y.shape', answer: [C, B] }),
  'hidden-shape-for-output': () => ({ problem: sheet, quantity: 'y.shape', answer: [B, H] }),
  'output-per-step-shape': () => ({ problem: sheet, quantity: 'y.shape', answer: [B, T, C] }),
};

describe('the mistake catalogue', () => {
  it.each(MISTAKE_IDS)('names %s when the answer is built with that mistake', (id) => {
    const build = CASES[id];
    expect(build, `no test builds an answer for ${id}`).toBeDefined();
    const { problem, quantity, answer } = build();
    const r = gradeOne(problem, quantity, answer);
    expect(r.status).toBe('incorrect');
    expect(r.mistake?.id).toBe(id);
    expect(r.feedback).toContain(r.mistake?.description);
    expect(r.feedback).toContain(r.mistake?.equation);
  });

  it('covers every id API.md lists', () => {
    const listed = [
      'relu-instead-of-tanh',
      'no-recurrence',
      'missing-bias',
      'logits-not-probabilities',
      'first-step-readout',
      'sum-instead-of-mean',
      'gradient-one-step',
      'missing-activation-derivative',
      'sign-error',
    ];
    expect(MISTAKE_IDS).toEqual(expect.arrayContaining(listed));
  });

  it('names gradient-one-step for BPTT gradients stopped after one step', () => {
    const one = reference(sheet, 1);
    const r = gradeOne(sheet, 'grads.U.weight', nested(one.grads.U, [H, d]));
    expect(r.mistake?.id).toBe('gradient-one-step');
  });

  it('names no mistake for a wrong answer that matches none', () => {
    const r = gradeOne(sheet, 'y', nested(new Float64Array(B * C).fill(1 / C), [B, C]));
    expect(r.status).toBe('incorrect');
    expect(r.mistake).toBeUndefined();
  });
});

describe('a correct answer is never labelled a mistake', () => {
  const problems: [string, Problem][] = [
    ['the sheet', sheet],
    ['T = 1, where one-step BPTT and the first-step readout are the truth', problemOf({ ...SHEET_EX2, steps: 1 })],
    ['B = 1 and T = 1 with a scalar network', problemOf({ ...SCALAR, steps: 1 })],
    ['readout "all"', problemOf({ ...SHEET_EX2, steps: 4 }, { readout: 'all' })],
    ['relu', problemOf(SHEET_EX2, { activation: 'relu' })],
  ];
  it.each(problems)('%s: every quantity, exact', (_, p) => {
    const s = new Solution(p);
    for (const q of QUANTITIES) {
      const v = s.value(q);
      const r = gradeOne(p, q, v.shape.length ? nested(v.data, v.shape) : v.data[0]);
      expect(r.status, q).toBe('correct');
      expect(r.mistake, q).toBeUndefined();
    }
  });

  it('T = 1: the one-step gradient and the first-step readout are correct answers', () => {
    const p = problemOf({ ...SHEET_EX2, steps: 1 });
    const one = reference(p, 1);
    expect(gradeOne(p, 'grads.U.weight', nested(one.grads.U, [H, d])).status).toBe('correct');
    const J = jacobian(p.model, batchOf(p), 'U.weight');
    expect(gradeOne(p, 'jacobian.U.weight', nested(J, [p.B, 1, H, H, d])).status).toBe('correct');
  });

  it('an answer off by less than the tolerance is correct', () => {
    const r = gradeOne(
      sheet,
      'y',
      nested(
        truth.y.map((v) => v * (1 + 0.009)),
        [B, C],
      ),
    );
    expect(r.status).toBe('correct');
    expect(r.maxAbsError).toBeGreaterThan(0);
  });
});
