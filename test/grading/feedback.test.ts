// Feedback a student can act on: where a sequence first goes wrong, a sentence about a wrong y.shape (and
// the transposed shape named), the sheet's equation a mistake follows, partial credit.
import { describe, expect, it } from 'vitest';
import { forward } from '../../src/core/elman.js';
import { grade } from '../../src/grading/grade.js';
import { gradeOne, nested, problemOf, reference, SCALAR, SHEET_EX2 } from '../helpers/grading.js';

const sheet = problemOf(SHEET_EX2);
const truth = reference(sheet);
const { B, T } = sheet;
const H = sheet.model.config.hiddenSize;

describe('sequence feedback', () => {
  it('h: the first (t, b) outside the tolerance, with both values', () => {
    const h = Float64Array.from(truth.h);
    // b = 1 goes wrong from t = 5 on, b = 0 from t = 3 on (later in the flat layout, earlier in time)
    for (let t = 5; t < T; t++) h[(1 * T + t) * H] += 0.5;
    for (let t = 3; t < T; t++) h[(0 * T + t) * H + 2] += 0.25;
    const r = gradeOne(sheet, 'h', nested(h, [B, T, H]));
    const want = truth.h[3 * H + 2];
    expect(r.feedback).toContain(
      `Your h first differs at t = 3, b = 0: ${+(want + 0.25).toPrecision(4)} vs ${+want.toPrecision(4)} at index [0, 3, 2]`,
    );
  });

  it('dh and jacobian answers are located the same way; a scalar quantity is not', () => {
    const dh = Float64Array.from(truth.dh);
    dh[(2 * T + 7) * H + 1] *= -3;
    expect(gradeOne(sheet, 'dh', nested(dh, [B, T, H])).feedback).toContain('first differs at t = 7, b = 2');
    const scalar = problemOf(SCALAR);
    const h = forward(scalar.model, { x: scalar.x, B: 1, T: 4 }).h;
    const J = [...h].map((v, t) => (t === 2 ? 9 : v));
    expect(gradeOne(scalar, 'jacobian.U.weight', J).feedback).toContain('first differs at t = ');
    expect(gradeOne(sheet, 'loss', truth.loss + 1).feedback).not.toContain('first differs');
  });
});

describe('y.shape', () => {
  it('[3, 5] for (5, 3): a sentence about the shape, named as the transposed output shape, with the sheet’s equation', () => {
    const r = gradeOne(sheet, 'y.shape', [3, 5]);
    expect(r.status).toBe('incorrect');
    expect(r.feedback).toContain(
      'The shape (3, 5) given for q is not the shape of y, which is (5, 3), that is (B, C).',
    );
    expect(r.feedback).not.toContain('atol');
    expect(r.mistake).toMatchObject({ id: 'transposed-output-shape' });
    expect(r.mistake?.equation).toContain('out.size() = (B, nb-class)');
    expect(gradeOne(sheet, 'y.shape', [5, 3])).toMatchObject({ status: 'correct', points: 1 });
    expect(gradeOne(sheet, 'y.shape', [5]).feedback).toContain('has 1 axes, but the output y has 2');
    expect(gradeOne(sheet, 'y.shape', [5, 3.0000001]).status).toBe('incorrect');
  });
});

describe('mistakes name the equation followed', () => {
  it('relu for tanh: the sheet’s myRNN line, against Exercise 1', () => {
    const y = forward({ ...sheet.model, config: { ...sheet.model.config, activation: 'relu' } }, sheet).y;
    const r = gradeOne(sheet, 'y', nested(y, [B, 3]));
    expect(r.mistake?.id).toBe('relu-instead-of-tanh');
    expect(r.feedback).toContain('your numbers follow h_t = relu(U x_t + W h_{t−1} + b_W)');
    expect(r.feedback).toContain('Exercise 1');
  });
});

describe('partial credit', () => {
  it('all or nothing without it; the share of good elements with it; a scalar is all or nothing', () => {
    const hT = Float64Array.from(truth.hT);
    hT[0] += 1;
    const q = { id: 'hT', quantity: 'hT' as const, points: 4, rtol: 1e-2, atol: 1e-8 };
    const answers = { hT: nested(hT, [B, H]) };
    expect(grade(sheet, [q], answers).score).toBe(0);
    expect(grade(sheet, [{ ...q, partial: true }], answers).score).toBeCloseTo(4 * (49 / 50), 9);
    const loss = { id: 'l', quantity: 'loss' as const, points: 1, rtol: 1e-2, atol: 1e-8, partial: true };
    expect(grade(sheet, [loss], { l: truth.loss + 1 }).score).toBe(0);
  });
});
