// A graded submission in unroll's own form, as Gradescope's results.json, and as PrairieLearn's results.
import { z } from 'zod';
import { QUANTITIES } from './names.js';

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
      .strictObject({ id: z.string(), description: z.string() })
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
  })
  .meta({ id: 'GradeReport' });
export type GradeReport = z.infer<typeof GradeReport>;

const visibility = z.enum(['visible', 'hidden', 'after_due_date', 'after_published']);

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

export const AnyReport = z.union([GradeReport, GradescopeResults, PrairieLearnResults]);
