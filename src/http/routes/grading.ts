// Autograding under /v1/assignments. These routes check their own tokens (config.auth = 'own'): instructors
// bring one of UNROLL_INSTRUCTOR_TOKENS, students their submission token; the service decides who may do what.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AppError } from '../../errors.js';
import {
  Assignment,
  AssignmentList,
  AssignmentParams,
  CreateAssignmentBody,
  ExportQuery,
  PresetList,
  ProblemParams,
  ProblemResponse,
  ReportQuery,
  SubmissionBody,
  SubmissionExport,
  SubmissionParams,
} from '../../schemas/grading.js';
import { LayoutQuery } from '../../schemas/models.js';
import { DELETED, withProblems } from '../../schemas/problem.js';
import { AnyReport } from '../../schemas/reports.js';
import type { Services } from '../../services.js';
import { bearerToken } from '../auth.js';

export const gradingRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const { grading, config } = services;
  const tags = ['grading'];
  const security = [{ bearer: [] }];
  const own = { auth: 'own' as const };
  const params = AssignmentParams;

  app.get(
    '/v1/assignments/presets',
    {
      config: own,
      schema: {
        tags,
        security,
        summary: 'The presets (the exercise sheet) an assignment can start from',
        response: withProblems(PresetList),
      },
    },
    async (req) => grading.presets(bearerToken(req)),
  );
  app.post(
    '/v1/assignments',
    {
      config: own,
      schema: {
        tags,
        security,
        summary: 'Create an assignment (instructor): config, B, T and questions, or a preset; 201 with its id',
        body: CreateAssignmentBody,
        response: { ...withProblems(Assignment), 201: Assignment },
      },
    },
    async (req, reply) => {
      const a = await grading.create(bearerToken(req), req.body);
      reply.code(201).header('location', `/v1/assignments/${a.id}`);
      return a;
    },
  );
  app.get(
    '/v1/assignments',
    {
      config: own,
      schema: { tags, security, summary: 'Every assignment (instructor)', response: withProblems(AssignmentList) },
    },
    async (req) => grading.list(bearerToken(req)),
  );
  app.get(
    '/v1/assignments/:id',
    {
      config: own,
      schema: { tags, security, summary: 'One assignment (instructor)', params, response: withProblems(Assignment) },
    },
    async (req) => grading.get(bearerToken(req), req.params.id),
  );
  app.delete(
    '/v1/assignments/:id',
    {
      config: own,
      schema: {
        tags,
        security,
        summary: 'Delete an assignment and its submissions (instructor)',
        params,
        response: DELETED,
      },
    },
    async (req, reply) => {
      await grading.delete(bearerToken(req), req.params.id);
      return reply.code(204).send(null);
    },
  );
  app.get(
    '/v1/assignments/:id/problems/:student',
    {
      config: own,
      schema: {
        tags,
        security,
        summary: "A student's own problem (weights, x, targets) and submission token: instructor, or that student",
        params: ProblemParams,
        querystring: LayoutQuery,
        response: withProblems(ProblemResponse),
      },
    },
    async (req) => grading.problem(bearerToken(req), req.params.id, req.params.student, req.query),
  );
  app.post(
    '/v1/assignments/:id/submissions',
    {
      config: {
        ...own,
        rateLimit: {
          max: config.UNROLL_SUBMISSION_RATE_MAX,
          timeWindow: config.UNROLL_SUBMISSION_RATE_WINDOW_MS,
          // per token and student: a student's token is theirs alone, and an instructor token (a platform kit
          // submitting for a whole class) gets a budget per student; without a token, per address. Counted
          // once the body is read (preHandler), so the student is known.
          hook: 'preHandler',
          keyGenerator: (req) =>
            `${bearerToken(req) ?? `ip:${req.ip}`}\0${(req.body as { student?: string } | undefined)?.student ?? ''}`,
          errorResponseBuilder: (_req, ctx) =>
            new AppError(
              'rate-limited',
              `at most ${ctx.max} submissions per ${config.UNROLL_SUBMISSION_RATE_WINDOW_MS / 1000} s (UNROLL_SUBMISSION_RATE_MAX); retry in ${ctx.after}`,
            ),
        },
      },
      schema: {
        tags,
        security,
        summary: 'Submit answers (student token): graded at once; ?format=gradescope or prairielearn for their results',
        params,
        querystring: ReportQuery,
        body: SubmissionBody,
        response: withProblems(AnyReport),
      },
    },
    async (req) => grading.submit(bearerToken(req), req.params.id, req.body, req.query.format),
  );
  app.get(
    '/v1/assignments/:id/submissions',
    {
      config: own,
      schema: {
        tags,
        security,
        summary: 'Every report (instructor; a student sees their own with ?student=); ?format=csv for a gradebook',
        params,
        querystring: ExportQuery,
        response: withProblems(SubmissionExport),
      },
    },
    async (req, reply) => {
      const r = await grading.export(bearerToken(req), req.params.id, req.query);
      if (r.kind === 'json') return r.body;
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${r.filename}"`)
        .send(r.csv);
    },
  );
  app.get(
    '/v1/assignments/:id/submissions/:submission',
    {
      config: own,
      schema: {
        tags,
        security,
        summary: 'One stored report, in any format (instructor, or the student who submitted it)',
        params: SubmissionParams,
        querystring: ReportQuery,
        response: withProblems(AnyReport),
      },
    },
    async (req) => grading.submission(bearerToken(req), req.params.id, req.params.submission, req.query.format),
  );
};
