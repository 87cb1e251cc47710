// Per-student problems and tokens: deterministic, different per student and per assignment, drawn as documented.
import { describe, expect, it } from 'vitest';
import { initParams, Rng } from '../../src/core/init.js';
import { deriveProblem, isStudentToken, problemSeeds, studentToken } from '../../src/grading/problems.js';
import { SCALAR, SECRET, SHEET_EX2 } from '../helpers/grading.js';

const other = Buffer.alloc(32, 8);

describe('per-student problems', () => {
  it('are the same every time for a student', () => {
    const a = deriveProblem(SHEET_EX2, SECRET, 'alice');
    const b = deriveProblem(SHEET_EX2, SECRET, 'alice');
    expect(b.x).toEqual(a.x);
    expect(b.targets).toEqual(a.targets);
    expect(b.model.params.W).toEqual(a.model.params.W);
  });

  it('differ between students, and between assignments for one student', () => {
    const a = deriveProblem(SHEET_EX2, SECRET, 'alice');
    expect(deriveProblem(SHEET_EX2, SECRET, 'bob').x).not.toEqual(a.x);
    expect(deriveProblem(SHEET_EX2, SECRET, 'bob').model.params.U).not.toEqual(a.model.params.U);
    expect(deriveProblem(SHEET_EX2, other, 'alice').x).not.toEqual(a.x);
  });

  it('draw weights with initParams and the data from the second seed, as documented', () => {
    const p = deriveProblem(SHEET_EX2, SECRET, 'carol');
    const seeds = problemSeeds(SECRET, 'carol');
    expect(p.model.params).toEqual(initParams(SHEET_EX2.config, seeds.weights));
    const rng = new Rng(seeds.data);
    const { batch: B, steps: T } = SHEET_EX2;
    const x = Float64Array.from({ length: B * T * 7 }, () => rng.normal());
    expect(p.x).toEqual(x);
    expect(p.targets).toEqual(Float64Array.from({ length: B }, () => rng.int(3)));
    expect([...p.targets].every((c) => Number.isInteger(c) && c >= 0 && c < 3)).toBe(true);
  });

  it('have no biases with zeroBias, and targets (B, T) for readout "all"', () => {
    const p = deriveProblem(SCALAR, SECRET, 'dan');
    expect([...p.model.params.bW, ...p.model.params.bV]).toEqual([0, 0, 0]);
    const all = deriveProblem({ ...SHEET_EX2, config: { ...SHEET_EX2.config, readout: 'all' } }, SECRET, 'dan');
    expect(all.targets.length).toBe(5 * 13);
  });
});

describe('student tokens', () => {
  it('are an HMAC of assignment and student: stable, and valid only for that pair', () => {
    const t = studentToken(SECRET, 'a1', 'alice');
    expect(studentToken(SECRET, 'a1', 'alice')).toBe(t);
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(isStudentToken(SECRET, 'a1', 'alice', t)).toBe(true);
    expect(isStudentToken(SECRET, 'a1', 'bob', t)).toBe(false);
    expect(isStudentToken(SECRET, 'a2', 'alice', t)).toBe(false);
    expect(isStudentToken(other, 'a1', 'alice', t)).toBe(false);
    expect(isStudentToken(SECRET, 'a1', 'alice', `${t}x`)).toBe(false);
  });
});
