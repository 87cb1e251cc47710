// Gradescope's results.json, PrairieLearn's results and the CSV gradebook, from one report.
import { describe, expect, it } from 'vitest';
import { toCsv, toGradescope, toPrairieLearn } from '../../src/grading/formats.js';
import type { GradeReport } from '../../src/schemas/reports.js';

const report: GradeReport = {
  id: 's1',
  assignment: 'a1',
  student: 'alice',
  submittedAt: '2025-01-01T00:00:00.000Z',
  score: 2,
  maxScore: 5,
  questions: [
    { id: 'y', quantity: 'y', status: 'correct', points: 2, maxPoints: 2, maxAbsError: 0, feedback: 'ok' },
    {
      id: 'dU',
      quantity: 'grads.U.weight',
      status: 'incorrect',
      points: 0,
      maxPoints: 3,
      maxAbsError: 1,
      feedback: 'wrong, "quoted", sign',
      mistake: { id: 'sign-error', description: 'the gradient with the opposite sign' },
    },
  ],
};

describe('report formats', () => {
  it('gradescope: score, and one test per question with name, score, max_score, status, output, visibility', () => {
    const g = toGradescope(report);
    expect(g.score).toBe(2);
    // the run's stdout is the kit's log, never feedback (issue 15)
    expect(g).toMatchObject({ visibility: 'visible', stdout_visibility: 'hidden', extra_data: { submission: 's1' } });
    expect(g.tests).toEqual([
      expect.objectContaining({
        name: 'y (y)',
        score: 2,
        max_score: 2,
        status: 'passed',
        output: 'ok',
        visibility: 'visible',
      }),
      expect.objectContaining({
        name: 'dU (grads.U.weight)',
        score: 0,
        max_score: 3,
        status: 'failed',
        tags: ['sign-error'],
      }),
    ]);
  });

  it('prairielearn: score in [0, 1], gradable, one test per question with points and max_points', () => {
    const p = toPrairieLearn(report);
    expect(p).toMatchObject({ gradable: true, score: 0.4 });
    expect(p.tests[1]).toEqual({
      name: 'dU',
      description: 'the quantity grads.U.weight',
      points: 0,
      max_points: 3,
      message: 'wrong, "quoted", sign',
    });
    expect(p.format_errors).toBeUndefined();
  });

  it('prairielearn: nothing gradable (all missing or malformed) is gradable: false with format_errors', () => {
    const bad: GradeReport = {
      ...report,
      score: 0,
      questions: report.questions.map((q) => ({ ...q, status: 'malformed', points: 0, mistake: undefined })),
    };
    const p = toPrairieLearn(bad);
    expect(p.gradable).toBe(false);
    expect(p.format_errors).toHaveLength(2);
  });

  it('csv: a header, one row per submission, a column per question in the assignment’s order', () => {
    const csv = toCsv(['dU', 'y', 'extra'], [report, { ...report, id: 's2', student: 'b,ob' }]);
    expect(csv.split('\r\n')).toEqual([
      'submission,student,submitted_at,score,max_score,dU,y,extra',
      's1,alice,2025-01-01T00:00:00.000Z,2,5,0,2,',
      's2,"b,ob",2025-01-01T00:00:00.000Z,2,5,0,2,',
      '',
    ]);
  });
});
