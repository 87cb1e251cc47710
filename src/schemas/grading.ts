// Autograding on the wire: assignments, per-student problems, submissions and the instructor's export.
import { z } from 'zod';
import { ModelConfig, WeightsOutput } from './model.js';
import { QUANTITIES } from './names.js';
import { GradeReport } from './reports.js';
import { CourseRules, CourseRulesInput } from './rules.js';
import { indexTensor, tensor } from './tensor.js';

/** Hard ceilings on an assignment's numbers; the grading cost cap (UNROLL_GRADING_MAX_COST) is the real bound. */
export const ASSIGNMENT_LIMITS = { batch: 4096, steps: 65_536, questions: 64, points: 1000, titleLength: 200 };
export const PRESET_NAMES = ['sheet-ex2', 'sheet-ex3'] as const;

export const QuestionId = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9._-]{0,63}$/, 'a letter, then letters, digits, ".", "_" or "-", at most 64')
  .meta({ description: 'the key of the answer in a submission, and a column of the CSV export' });
export const StudentId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/, 'a letter or digit, then letters, digits, ".", "_", "@", "+" or "-"')
  .meta({ description: 'the student id (a login or an email), at most 128 characters' });
export const Quantity = z.enum(QUANTITIES).meta({
  description:
    'what the answer is: y, logits, h, hT, loss, grads.<key>, dh, dx, dh0, jacobian.<key>, or y.shape (the list of the dimensions of y, Exercise 2)',
});

const tolerance = (what: string) => z.number().min(0).max(1).meta({ description: what });
export const QuestionInput = z.strictObject({
  id: QuestionId,
  quantity: Quantity,
  points: z.number().min(0).max(ASSIGNMENT_LIMITS.points).optional().meta({ description: 'default 1' }),
  rtol: tolerance('relative tolerance per element, default 1e-2').optional(),
  atol: tolerance('absolute tolerance per element, default 1e-8').optional(),
  partial: z
    .boolean()
    .optional()
    .meta({ description: 'partial credit: points × the fraction of elements within tolerance; default false' }),
});
export type QuestionInput = z.infer<typeof QuestionInput>;
export const Question = z
  .strictObject({
    id: QuestionId,
    quantity: Quantity,
    points: z.number(),
    rtol: z.number(),
    atol: z.number(),
    partial: z.boolean().optional(),
  })
  .meta({ id: 'Question' });
export type Question = z.infer<typeof Question>;

function uniqueIds(questions: { id: string }[] | undefined, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  questions?.forEach((q, i) => {
    if (seen.has(q.id))
      ctx.addIssue({ code: 'custom', path: ['questions', i, 'id'], message: `question id "${q.id}" is used twice` });
    seen.add(q.id);
  });
}

const SPEC_FIELDS = ['title', 'config', 'batch', 'steps', 'questions'] as const;

export const CreateAssignmentBody = z
  .strictObject({
    preset: z
      .enum(PRESET_NAMES)
      .optional()
      .meta({ description: 'start from a preset (GET /v1/assignments/presets); the other fields override it' }),
    title: z.string().trim().min(1).max(ASSIGNMENT_LIMITS.titleLength).optional(),
    config: ModelConfig.optional(),
    batch: z.int().min(1).max(ASSIGNMENT_LIMITS.batch).optional().meta({ description: 'B, sequences per problem' }),
    steps: z.int().min(1).max(ASSIGNMENT_LIMITS.steps).optional().meta({ description: 'T, steps per sequence' }),
    zeroBias: z
      .boolean()
      .optional()
      .meta({ description: 'draw no biases (b_W = b_V = 0), as in the sheet’s equations; default false' }),
    questions: z.array(QuestionInput).min(1).max(ASSIGNMENT_LIMITS.questions).optional(),
    rules: CourseRulesInput.optional(),
  })
  .superRefine((b, ctx) => {
    if (!b.preset)
      for (const k of SPEC_FIELDS)
        if (b[k] === undefined)
          ctx.addIssue({ code: 'custom', path: [k], message: `${k} is required without a preset` });
    uniqueIds(b.questions, ctx);
  })
  .meta({ id: 'CreateAssignmentBody' });
export type CreateAssignmentBody = z.infer<typeof CreateAssignmentBody>;

export const Assignment = z
  .strictObject({
    id: z.string(),
    title: z.string(),
    preset: z.enum(PRESET_NAMES).nullable(),
    config: ModelConfig,
    batch: z.int(),
    steps: z.int(),
    zeroBias: z.boolean(),
    questions: z.array(Question),
    maxScore: z.number(),
    rules: CourseRules,
    createdAt: z.string(),
  })
  .meta({ id: 'Assignment' });
export type Assignment = z.infer<typeof Assignment>;
/** An assignment's fixed part, as stored: what its problems and its grading depend on. */
/** What is stored: `rules` is absent in assignments stored before course rules existed (DEFAULT_RULES). */
export const AssignmentSpec = Assignment.omit({ id: true, maxScore: true, createdAt: true, rules: true }).extend({
  rules: CourseRules.optional(),
});
export type AssignmentSpec = z.infer<typeof AssignmentSpec>;
/** What a student's problem depends on besides the secret and the student. */
export type ProblemSpec = Pick<AssignmentSpec, 'config' | 'batch' | 'steps' | 'zeroBias'>;
export type PresetName = (typeof PRESET_NAMES)[number];
export const AssignmentList = z.strictObject({ assignments: z.array(Assignment) }).meta({ id: 'AssignmentList' });
export const Preset = Assignment.omit({ id: true, createdAt: true, rules: true }).meta({ id: 'AssignmentPreset' });
export const PresetList = z.strictObject({ presets: z.record(z.string(), Preset) }).meta({ id: 'AssignmentPresets' });

export const AssignmentParams = z.strictObject({ id: z.string().min(1).max(64) });
export const ProblemParams = AssignmentParams.extend({ student: StudentId });
export const SubmissionParams = AssignmentParams.extend({ submission: z.string().min(1).max(64) });

export const ProblemResponse = z
  .strictObject({
    assignment: z.string(),
    student: StudentId,
    token: z.string().meta({ description: 'the student’s submission token: Authorization: Bearer <token>' }),
    problem: z.strictObject({
      model: z.strictObject({ config: ModelConfig, weights: WeightsOutput }),
      x: tensor(3, '(B, T, d)'),
      targets: indexTensor([1, 2], '(B) for readout "last", (B, T) for "all"'),
    }),
    questions: z.array(Question),
    rules: CourseRules,
  })
  .meta({ id: 'StudentProblem' });

/** Deepest nesting an answer may have: a Jacobian has rank 5, and a few more axes of length 1 are read as the same layout. */
export const MAX_ANSWER_DEPTH = 8;

/** Whether arrays nest deeper than `limit` anywhere in v (iteratively: a deep answer must not overflow the stack). */
function nestsDeeperThan(v: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, depth] = stack.pop()!;
    if (!Array.isArray(x)) continue;
    if (depth + 1 > limit) return true;
    for (const e of x) if (Array.isArray(e)) stack.push([e, depth + 1]);
  }
  return false;
}

export const SubmissionBody = z
  .strictObject({
    student: StudentId,
    answers: z
      .record(z.string(), z.unknown())
      .meta({ description: '{questionId: number | nested array}; an absent or null answer is "missing"' }),
  })
  .superRefine((b, ctx) => {
    for (const [k, v] of Object.entries(b.answers))
      if (nestsDeeperThan(v, MAX_ANSWER_DEPTH))
        ctx.addIssue({
          code: 'custom',
          path: ['answers', k],
          message: `an answer nests at most ${MAX_ANSWER_DEPTH} lists deep`,
        });
  })
  .meta({ id: 'SubmissionBody' });
export type SubmissionBody = z.infer<typeof SubmissionBody>;

export const ReportFormat = z.enum(['json', 'gradescope', 'prairielearn']).default('json');
export const ReportQuery = z.object({ format: ReportFormat });
export const ExportQuery = z.object({
  format: z.enum(['json', 'csv']).default('json'),
  student: StudentId.optional().meta({ description: 'only this student (required with a student token)' }),
  keep: z.enum(['all', 'latest', 'best', 'counted']).default('all').meta({
    description:
      'every submission, or one per student: the latest, the best (then the latest), or the one the rules count',
  }),
});
export type ExportQuery = z.infer<typeof ExportQuery>;

export const SubmissionList = z
  .strictObject({
    assignment: z.string(),
    questions: z.array(QuestionId),
    submissions: z.array(
      GradeReport.extend({ scores: z.record(z.string(), z.number()).meta({ description: 'points per question' }) }),
    ),
  })
  .meta({ id: 'SubmissionList' });

/** What an instructor may change once an assignment exists: never what the problems are derived from. */
export const UpdateAssignmentBody = z
  .strictObject({
    title: z.string().trim().min(1).max(ASSIGNMENT_LIMITS.titleLength).optional(),
    questions: z
      .array(QuestionInput)
      .min(1)
      .max(ASSIGNMENT_LIMITS.questions)
      .optional()
      .meta({ description: 'the whole new list; every stored submission is regraded from its stored answers' }),
    rules: CourseRulesInput.optional().meta({ description: 'merged into the current rules; null clears a rule' }),
    reason: z
      .string()
      .trim()
      .min(1)
      .max(500)
      .optional()
      .meta({ description: 'why, recorded with each regrade (default: "questions changed")' }),
  })
  .superRefine((b, ctx) => uniqueIds(b.questions, ctx))
  .meta({ id: 'UpdateAssignmentBody' });
export type UpdateAssignmentBody = z.infer<typeof UpdateAssignmentBody>;

export const RegradeBody = z
  .strictObject({ reason: z.string().trim().min(1).max(500).meta({ description: 'recorded with each regrade' }) })
  .meta({ id: 'RegradeBody' });

export const RegradeSummary = z
  .strictObject({
    reason: z.string(),
    at: z.string(),
    submissions: z.int().meta({ description: 'submissions regraded' }),
    changed: z.int().meta({ description: 'of which the score changed' }),
  })
  .meta({ id: 'RegradeSummary' });
export const UpdateAssignmentResponse = z
  .strictObject({ assignment: Assignment, regrade: RegradeSummary.nullable() })
  .meta({ id: 'UpdateAssignmentResponse' });

export const RegradeEntry = z
  .strictObject({
    submission: z.string(),
    student: StudentId,
    oldScore: z.number(),
    newScore: z.number(),
    reason: z.string(),
    at: z.string(),
  })
  .meta({ id: 'RegradeEntry' });
export const RegradeHistory = z
  .strictObject({ assignment: z.string(), regrades: z.array(RegradeEntry) })
  .meta({ id: 'RegradeHistory' });
/** GET …/submissions: the reports as JSON, or with ?format=csv a gradebook. */
export const SubmissionExport = z.union([
  SubmissionList,
  z.string().meta({ description: 'with ?format=csv: text/csv, one row per submission' }),
]);
