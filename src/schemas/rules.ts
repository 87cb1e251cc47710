// Course rules on an assignment (due date, late policy, attempts, release of feedback, which submission
// counts) and the record each report carries of the rules that applied to it.
import { z } from 'zod';

/** Gradescope's and PrairieLearn's visibility vocabulary. */
export const RELEASE = ['visible', 'hidden', 'after_due_date', 'after_published'] as const;
export const COUNTS = ['best', 'latest', 'latest-before-due'] as const;
export const MAX_ATTEMPTS = 10_000;

const instant = (what: string) => z.iso.datetime({ offset: true }).meta({ description: what });

export const LatePolicyInput = z
  .strictObject({
    until: instant('the hard deadline: no submission is taken after it (absent: late ones are taken forever)')
      .nullable()
      .optional(),
    penaltyPerDay: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .meta({ description: 'the share of the score lost per started day late (0.1: 10 % a day, never below 0)' }),
    factor: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .meta({ description: 'or: a fixed factor on the score of any late submission (0.5: half marks)' }),
  })
  .refine((l) => l.penaltyPerDay === undefined || l.factor === undefined, {
    message: 'give penaltyPerDay or factor, not both',
  });

export const CourseRulesInput = z
  .strictObject({
    dueAt: instant('the due date (ISO 8601 with an offset); without a late policy, also the deadline')
      .nullable()
      .optional(),
    late: LatePolicyInput.nullable().optional().meta({ description: 'how submissions after dueAt are taken' }),
    attempts: z
      .int()
      .min(1)
      .max(MAX_ATTEMPTS)
      .nullable()
      .optional()
      .meta({ description: 'submissions per student (absent or null: unlimited)' }),
    release: z.enum(RELEASE).optional().meta({ description: 'when students see scores and feedback; default visible' }),
    published: z.boolean().optional().meta({ description: 'with release after_published: true releases them' }),
    counts: z
      .enum(COUNTS)
      .optional()
      .meta({ description: 'the submission the gradebook counts per student; default latest (Gradescope’s)' }),
  })
  .meta({ description: 'course rules, each optional' });
export type CourseRulesInput = z.infer<typeof CourseRulesInput>;

export const LatePolicy = z.strictObject({
  until: z.string().nullable(),
  penaltyPerDay: z.number().nullable(),
  factor: z.number().nullable(),
});
export const CourseRules = z
  .strictObject({
    dueAt: z.string().nullable(),
    late: LatePolicy.nullable(),
    attempts: z.int().nullable(),
    release: z.enum(RELEASE),
    published: z.boolean(),
    publishedAt: z.string().nullable(),
    counts: z.enum(COUNTS),
  })
  .meta({ id: 'CourseRules' });
export type CourseRules = z.infer<typeof CourseRules>;

export const AppliedRules = z
  .strictObject({
    attempt: z.int().meta({ description: 'this submission is attempt n of the student' }),
    attempts: z.int().nullable().meta({ description: 'the attempt limit, or null' }),
    dueAt: z.string().nullable(),
    late: z.boolean(),
    daysLate: z.int().meta({ description: 'started days after dueAt (0 when on time)' }),
    factor: z.number().meta({ description: 'the late factor applied: score = rawScore × factor' }),
    rawScore: z.number(),
    release: z.enum(RELEASE),
    counts: z.enum(COUNTS),
    notes: z.array(z.string()).meta({ description: 'each rule that applied, in a sentence' }),
  })
  .meta({ id: 'AppliedRules' });
export type AppliedRules = z.infer<typeof AppliedRules>;
