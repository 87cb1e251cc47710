// A graded submission in the formats other systems read: Gradescope's results.json, PrairieLearn's
// external-grading results, and a CSV gradebook with one row per submission and a column per question.
import type { GradeReport, GradescopeResults, PrairieLearnResults } from '../schemas/reports.js';

const summary = (r: GradeReport) => {
  const correct = r.questions.filter((q) => q.status === 'correct').length;
  return `${r.score} / ${r.maxScore} points: ${correct} of ${r.questions.length} questions correct.`;
};

/** One test per question, in the assignment's order; the mistake id, when one was named, as a tag. */
export function toGradescope(r: GradeReport): GradescopeResults {
  return {
    score: r.score,
    output: summary(r),
    visibility: 'visible',
    tests: r.questions.map((q, i) => ({
      name: `${q.id} (${q.quantity})`,
      number: String(i + 1),
      score: q.points,
      max_score: q.maxPoints,
      status: q.status === 'correct' ? 'passed' : 'failed',
      output: q.feedback,
      tags: q.mistake ? [q.mistake.id] : [],
      visibility: 'visible',
    })),
  };
}

/**
 * PrairieLearn's score is a fraction in [0, 1]. A submission in which no answer could be graded (each one
 * missing or malformed) is `gradable: false`, so PrairieLearn neither scores it nor counts the attempt,
 * and the reasons go in `format_errors`.
 */
export function toPrairieLearn(r: GradeReport): PrairieLearnResults {
  const gradable = r.questions.some((q) => q.status === 'correct' || q.status === 'incorrect');
  return {
    gradable,
    score: r.maxScore > 0 ? Math.min(1, Math.max(0, r.score / r.maxScore)) : 0,
    message: summary(r),
    ...(gradable ? {} : { format_errors: r.questions.map((q) => q.feedback) }),
    tests: r.questions.map((q) => ({
      name: q.id,
      description: `the quantity ${q.quantity}`,
      points: q.points,
      max_points: q.maxPoints,
      message: q.feedback,
    })),
  };
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
function cell(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * The gradebook: submission, student, submitted_at, score, max_score, then the points of each question.
 * Ids are restricted to letters, digits and ._@+- starting with a letter or digit, so no cell can start
 * a spreadsheet formula.
 */
export function toCsv(questionIds: readonly string[], rows: readonly GradeReport[]): string {
  const head = ['submission', 'student', 'submitted_at', 'score', 'max_score', ...questionIds];
  const lines = [head.map(cell).join(',')];
  for (const r of rows) {
    const points = new Map(r.questions.map((q) => [q.id, q.points]));
    lines.push(
      [r.id, r.student, r.submittedAt, r.score, r.maxScore, ...questionIds.map((id) => points.get(id) ?? '')]
        .map(cell)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
