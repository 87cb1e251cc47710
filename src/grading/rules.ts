// Course rules applied: whether a submission is taken at all (attempt limit, deadlines), the late factor on
// its score, whether a student may see it yet, and which submission of a student counts. Pure: the clock
// and the student's earlier submissions are arguments.
import { AppError, RequestValidationError } from '../errors.js';
import type { GradeReport } from '../schemas/reports.js';
import type { AppliedRules, CourseRules, CourseRulesInput } from '../schemas/rules.js';

const DAY_MS = 86_400_000;

export const DEFAULT_RULES: CourseRules = {
  dueAt: null,
  late: null,
  attempts: null,
  release: 'visible',
  published: false,
  publishedAt: null,
  counts: 'latest',
};

const iso = (s: string) => new Date(s).toISOString();

/** The current rules with an instructor's changes merged in (null clears a rule), checked as a whole. */
export function mergeRules(current: CourseRules, input: CourseRulesInput | undefined, now: Date): CourseRules {
  if (!input) return current;
  const late =
    input.late === undefined
      ? current.late
      : input.late === null
        ? null
        : {
            until: input.late.until ? iso(input.late.until) : null,
            penaltyPerDay: input.late.penaltyPerDay ?? null,
            factor: input.late.factor ?? null,
          };
  const published = input.published ?? current.published;
  const r: CourseRules = {
    dueAt: input.dueAt === undefined ? current.dueAt : input.dueAt && iso(input.dueAt),
    late,
    attempts: input.attempts === undefined ? current.attempts : input.attempts,
    release: input.release ?? current.release,
    published,
    publishedAt: published ? (current.publishedAt ?? now.toISOString()) : null,
    counts: input.counts ?? current.counts,
  };
  const issues = [];
  if (r.late && !r.dueAt) issues.push({ path: ['rules', 'late'], message: 'a late policy needs a dueAt' });
  if (r.late?.until && r.dueAt && r.late.until < r.dueAt)
    issues.push({ path: ['rules', 'late', 'until'], message: 'the hard deadline comes before the due date' });
  if (r.release === 'after_due_date' && !r.dueAt)
    issues.push({ path: ['rules', 'release'], message: 'release after_due_date needs a dueAt' });
  if (r.counts === 'latest-before-due' && !r.dueAt)
    issues.push({ path: ['rules', 'counts'], message: 'counts latest-before-due needs a dueAt' });
  if (issues.length) throw new RequestValidationError(issues);
  return r;
}

/**
 * The rules for a submission at `now` that would be attempt `attempt`: refused (409 over the attempt limit,
 * 403 after the deadline) or the facts its report will carry. `rawScore` is filled in after grading.
 */
export function admit(rules: CourseRules, attempt: number, now: Date): Omit<AppliedRules, 'rawScore'> {
  if (rules.attempts !== null && attempt > rules.attempts)
    throw new AppError(
      'conflict',
      `the attempt limit is reached: ${rules.attempts} of ${rules.attempts} submissions used`,
    );
  const notes: string[] = [
    rules.attempts === null ? `Attempt ${attempt}.` : `Attempt ${attempt} of ${rules.attempts}.`,
  ];
  let late = false;
  let daysLate = 0;
  let factor = 1;
  if (rules.dueAt && now.getTime() > Date.parse(rules.dueAt)) {
    if (!rules.late)
      throw new AppError(
        'forbidden',
        `the due date ${rules.dueAt} has passed and this assignment takes no late submissions`,
      );
    if (rules.late.until && now.getTime() > Date.parse(rules.late.until))
      throw new AppError('forbidden', `the late deadline ${rules.late.until} has passed`);
    late = true;
    daysLate = Math.ceil((now.getTime() - Date.parse(rules.dueAt)) / DAY_MS);
    factor =
      rules.late.penaltyPerDay !== null
        ? Math.max(0, round(1 - rules.late.penaltyPerDay * daysLate))
        : (rules.late.factor ?? 1);
    const how =
      rules.late.penaltyPerDay !== null
        ? `${pct(rules.late.penaltyPerDay)} off per late day`
        : `a fixed late factor of ${rules.late.factor ?? 1}`;
    notes.push(
      `Submitted ${daysLate} day${daysLate === 1 ? '' : 's'} after the due date ${rules.dueAt}: score × ${factor} (${how}).`,
    );
  } else if (rules.dueAt) notes.push(`On time (due ${rules.dueAt}).`);
  notes.push(releaseNote(rules));
  return {
    attempt,
    attempts: rules.attempts,
    dueAt: rules.dueAt,
    late,
    daysLate,
    factor,
    release: rules.release,
    counts: rules.counts,
    notes,
  };
}

const round = (v: number) => Math.round(v * 1e9) / 1e9;
const pct = (v: number) => `${round(v * 100)} %`;

function releaseNote(r: CourseRules): string {
  switch (r.release) {
    case 'visible':
      return 'Scores and feedback are shown at once.';
    case 'hidden':
      return 'Scores and feedback are hidden until the instructor releases them.';
    case 'after_due_date':
      return `Scores and feedback are hidden until the due date ${r.dueAt}.`;
    case 'after_published':
      return r.published
        ? `Scores and feedback were published ${r.publishedAt}.`
        : 'Scores and feedback are hidden until the instructor publishes them.';
  }
}

/** Whether a student may see scores and feedback now. */
export function released(r: CourseRules, now: Date): boolean {
  switch (r.release) {
    case 'visible':
      return true;
    case 'hidden':
      return false;
    case 'after_due_date':
      return r.dueAt === null || now.getTime() >= Date.parse(r.dueAt);
    case 'after_published':
      return r.published;
  }
}

/** The sentence a student sees in place of a hidden report. */
export const withheldMessage = (r: CourseRules, applied: AppliedRules | undefined) =>
  `Your submission was received${applied ? ` (attempt ${applied.attempt}${applied.attempts ? ` of ${applied.attempts}` : ''}${applied.late ? `, ${applied.daysLate} day(s) late` : ''})` : ''}. ${releaseNote(r)}`;

/**
 * The submission that counts for each student under `counts`, from all of theirs in submission order:
 * the latest; the best (the latest of equal scores); or the latest on time, else the latest late one.
 */
export function counted(counts: CourseRules['counts'], rows: readonly GradeReport[]): GradeReport[] {
  const by = new Map<string, GradeReport>();
  for (const r of rows) {
    const cur = by.get(r.student);
    const take =
      !cur ||
      (counts === 'latest'
        ? true
        : counts === 'best'
          ? r.score >= cur.score
          : !r.rules?.late || cur.rules?.late === true);
    if (take) by.set(r.student, r);
  }
  return [...by.values()].sort((a, b) => (a.student < b.student ? -1 : a.student > b.student ? 1 : 0));
}

/** The note on whether this submission is, for now, the one that counts. */
export function countsNote(
  counts: CourseRules['counts'],
  report: GradeReport,
  earlier: readonly GradeReport[],
): string {
  const now = counted(counts, [...earlier, report]).find((r) => r.student === report.student);
  const rule =
    counts === 'best'
      ? 'your best submission'
      : counts === 'latest'
        ? 'your latest submission'
        : 'your latest submission before the due date';
  return now?.id === report.id
    ? `This submission counts (${rule}).`
    : `An earlier submission still counts (${rule}, ${now?.score} points).`;
}
