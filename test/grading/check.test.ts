// Reading answers and PrairieLearn's tolerance rule, at its edges.
import { describe, expect, it } from 'vitest';
import { compare, fmtShape, parseAnswer, sameLayout } from '../../src/grading/check.js';
import { gradeOne, nested, problemOf, reference, SHEET_EX2 } from '../helpers/grading.js';

const tol = { rtol: 1e-2, atol: 1e-8 };
const f = (...v: number[]) => Float64Array.from(v);

describe('the tolerance |answer − truth| ≤ atol + rtol·|truth|', () => {
  it('passes at the bound and fails just past it', () => {
    expect(compare(f(101 - 1e-9), f(100), tol).pass).toBe(true);
    expect(compare(f(101 + 1e-6), f(100), tol).pass).toBe(false);
    expect(compare(f(1e-8), f(0), tol).pass).toBe(true); // atol alone around zero
    expect(compare(f(2e-8), f(0), tol).pass).toBe(false);
  });
  it('is relative to the truth, not to the answer', () => {
    expect(compare(f(101.005), f(100), tol).pass).toBe(false);
    expect(compare(f(100), f(101.005), tol).pass).toBe(true);
  });
  it('counts the bad elements and finds the largest error', () => {
    const c = compare(f(1, 2.5, 3, 10), f(1, 2, 3, 4), tol);
    expect(c).toMatchObject({ pass: false, bad: 2, n: 4, maxAbsError: 6, worst: 3 });
  });
});

describe('reading an answer', () => {
  it('takes a number, or nested lists of any rank', () => {
    expect(parseAnswer(0.5)).toMatchObject({ ok: true, value: { shape: [] } });
    expect(parseAnswer([[1, 2, 3]])).toMatchObject({ ok: true, value: { shape: [1, 3] } });
  });
  it('names the index of a ragged list or a string', () => {
    const r = parseAnswer([[1, 2], [3]]);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain('[1]');
    const s = parseAnswer([[1, 'a']]);
    expect(!s.ok && s.reason).toContain('[0, 1]');
    expect(parseAnswer('0.5').ok).toBe(false);
  });
  it('accepts a layout that differs only by axes of length 1', () => {
    expect(sameLayout([4], [1, 4, 1, 1, 1])).toBe(true);
    expect(sameLayout([1], [])).toBe(true);
    expect(sameLayout([3, 5], [5, 3])).toBe(false);
    expect(sameLayout([15], [5, 3])).toBe(false);
  });
  it('writes 1-tuples as Python does', () => expect(fmtShape([3])).toBe('(3,)'));
});

describe('statuses and feedback', () => {
  const p = problemOf(SHEET_EX2);
  const truth = reference(p);
  it('missing: null or absent, with the expected shape', () => {
    const r = gradeOne(p, 'y', null);
    expect(r).toMatchObject({ status: 'missing', points: 0 });
    expect(r.feedback).toContain('(5, 3)');
  });
  it('malformed: the wrong shape, and the feedback says the expected one', () => {
    const r = gradeOne(p, 'y', nested(truth.y, [3, 5]));
    expect(r.status).toBe('malformed');
    expect(r.feedback).toContain('(3, 5)');
    expect(r.feedback).toContain('(5, 3), that is (B, C)');
    expect(gradeOne(p, 'hT', [[1, 2], [3]]).status).toBe('malformed');
  });
  it('incorrect: says what was compared and the largest error, and where', () => {
    const y = truth.y.slice();
    y[7] += 0.5;
    const r = gradeOne(p, 'y', nested(y, [5, 3]));
    expect(r).toMatchObject({ status: 'incorrect', points: 0 });
    expect(r.maxAbsError).toBeCloseTo(0.5, 12);
    expect(r.feedback).toMatch(/1 of 15 values of y .* largest error is 0\.5 at index \[2, 1\]\./);
  });
  it('y.shape: the sheet’s answer (5, 3), and a wrong rank is incorrect rather than malformed', () => {
    expect(gradeOne(p, 'y.shape', [5, 3]).status).toBe('correct');
    expect(gradeOne(p, 'y.shape', [3, 5]).status).toBe('incorrect');
    expect(gradeOne(p, 'y.shape', [5, 13, 3]).status).toBe('incorrect');
  });
});
