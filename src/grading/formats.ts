// A graded submission in the formats other systems read: Gradescope's results.json, PrairieLearn's
// external-grading results, and a CSV gradebook with one row per submission and a column per question.
import type { GradeReport, GradescopeResults, PrairieLearnResults } from '../schemas/reports.js';

const summary = (r: GradeReport) => {
  const correct = r.questions.filter((q) => q.status === 'correct').length;
  const raw = r.rules && r.rules.factor !== 1 ? ` (${r.rules.rawScore} before the late factor ${r.rules.factor})` : '';
  return `${r.score} / ${r.maxScore} points${raw}: ${correct} of ${r.questions.length} questions correct.`;
};
/** The rules that applied, one sentence a line. */
const rulesText = (r: GradeReport) => (r.rules ? r.rules.notes.join('\n') : '');
const withRules = (r: GradeReport) => [summary(r), rulesText(r)].filter(Boolean).join('\n');

/**
 * One test per question, in the assignment's order; the mistake id, when one was named, as a tag. The
 * release policy is Gradescope's own visibility (Gradescope hides what it says); the autograder's stdout
 * holds the kit's log, not feedback, so it stays hidden. The rules' facts go in output and extra_data.
 */
export function toGradescope(r: GradeReport): GradescopeResults {
  const visibility = r.rules?.release ?? 'visible';
  return {
    score: r.score,
    output: withRules(r),
    visibility,
    stdout_visibility: 'hidden',
    extra_data: { submission: r.id, ...(r.rules ? { rules: r.rules } : {}) },
    tests: r.questions.map((q, i) => ({
      name: `${q.id} (${q.quantity})`,
      number: String(i + 1),
      score: q.points,
      max_score: q.maxPoints,
      status: q.status === 'correct' ? 'passed' : 'failed',
      output: q.feedback,
      tags: q.mistake ? [q.mistake.id] : [],
      visibility,
    })),
  };
}

/**
 * PrairieLearn's score is a fraction in [0, 1]. A submission in which no answer could be graded (each one
 * missing or malformed) is `gradable: false`, so PrairieLearn neither scores it nor counts the attempt,
 * and the reasons go in `format_errors`. `partial_scores` gives each question's fraction (partial credit)
 * as PrairieLearn's own questions do; the rules that applied are the `output`, and the late factor is in `score`.
 */
export function toPrairieLearn(r: GradeReport): PrairieLearnResults {
  const gradable = r.questions.some((q) => q.status === 'correct' || q.status === 'incorrect');
  return {
    gradable,
    score: r.maxScore > 0 ? Math.min(1, Math.max(0, r.score / r.maxScore)) : 0,
    message: summary(r),
    output: rulesText(r),
    ...(gradable ? {} : { format_errors: r.questions.map((q) => q.feedback) }),
    partial_scores: Object.fromEntries(
      r.questions.map((q) => [
        q.id,
        { score: q.maxPoints > 0 ? q.points / q.maxPoints : 0, weight: q.maxPoints, feedback: q.feedback },
      ]),
    ),
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
export function cell(v: string | number): string {
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
