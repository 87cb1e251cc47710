// A graded submission in unroll's own form, as Gradescope's results.json, and as PrairieLearn's results.
import { z } from 'zod';
import { QUANTITIES } from './names.js';
import { AppliedRules, RELEASE } from './rules.js';

const visibility = z.enum(RELEASE);

export const QuestionReport = z
  .strictObject({
    id: z.string(),
    quantity: z.enum(QUANTITIES),
    status: z.enum(['correct', 'incorrect', 'missing', 'malformed']),
    points: z.number(),
    maxPoints: z.number(),
    maxAbsError: z.number().optional().meta({ description: 'largest |answer − reference| over the elements' }),
    feedback: z.string().meta({ description: 'what was compared and the largest error, in plain words' }),
    mistake: z
      .strictObject({
        id: z.string(),
        description: z.string(),
        equation: z.string().optional().meta({ description: 'what the numbers follow instead of the sheet' }),
      })
      .optional()
      .meta({ description: 'the classic error a wrong answer matches' }),
  })
  .meta({ id: 'QuestionReport' });

export const GradeReport = z
  .strictObject({
    id: z.string().meta({ description: 'the submission id' }),
    assignment: z.string(),
    student: z.string(),
    submittedAt: z.string(),
    score: z.number(),
    maxScore: z.number(),
    questions: z.array(QuestionReport),
    rules: AppliedRules.optional().meta({ description: 'the course rules that applied (absent before rules existed)' }),
    regrades: z
      .array(z.strictObject({ at: z.string(), reason: z.string(), oldScore: z.number(), newScore: z.number() }))
      .optional()
      .meta({ description: 'each regrade of this submission, oldest first; score is the current one' }),
  })
  .meta({ id: 'GradeReport' });
export type GradeReport = z.infer<typeof GradeReport>;

/** https://gradescope-autograders.readthedocs.io/en/latest/specs/ (one test per question). */
export const GradescopeResults = z
  .strictObject({
    score: z.number(),
    output: z.string(),
    visibility,
    tests: z.array(
      z.strictObject({
        name: z.string(),
        number: z.string(),
        score: z.number(),
        max_score: z.number(),
        status: z.enum(['passed', 'failed']),
        output: z.string(),
        tags: z.array(z.string()),
        visibility,
      }),
    ),
    stdout_visibility: visibility.meta({
      description: 'the autograder run’s stdout: hidden, since it holds the kit’s log, not feedback',
    }),
    extra_data: z
      .strictObject({ rules: AppliedRules.optional(), submission: z.string() })
      .meta({ description: 'unroll’s submission id and the rules that applied' }),
  })
  .meta({ id: 'GradescopeResults' });
export type GradescopeResults = z.infer<typeof GradescopeResults>;

/** PrairieLearn's external-grading results.json (docs/externalGrading.md), one test per question. */
export const PrairieLearnResults = z
  .strictObject({
    gradable: z.boolean(),
    score: z.number().min(0).max(1),
    message: z.string(),
    format_errors: z.array(z.string()).optional(),
    output: z.string().meta({ description: 'the rules that applied, one per line' }),
    partial_scores: z
      .record(z.string(), z.strictObject({ score: z.number(), weight: z.number(), feedback: z.string() }))
      .meta({ description: 'per question: the fraction of its points, its points as weight, the feedback' }),
    tests: z.array(
      z.strictObject({
        name: z.string(),
        description: z.string(),
        points: z.number(),
        max_points: z.number(),
        message: z.string(),
      }),
    ),
  })
  .meta({ id: 'PrairieLearnResults' });
export type PrairieLearnResults = z.infer<typeof PrairieLearnResults>;

/** What a student is shown while the release policy hides scores and feedback (in every format). */
export const WithheldReport = z
  .strictObject({
    id: z.string(),
    assignment: z.string(),
    student: z.string(),
    submittedAt: z.string(),
    withheld: z.literal(true),
    message: z.string(),
    rules: AppliedRules.optional(),
  })
  .meta({ id: 'WithheldReport' });
export type WithheldReport = z.infer<typeof WithheldReport>;

export const AnyReport = z.union([GradeReport, GradescopeResults, PrairieLearnResults, WithheldReport]);
