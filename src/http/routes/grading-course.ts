// Running a course on an assignment (instructor): change its rules or questions (regrading), regrade on
// demand, the regrade history, the roster (CSV or JSON in, student,token CSV out) and token rotation.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  AssignmentParams,
  ProblemParams,
  RegradeBody,
  RegradeHistory,
  RegradeSummary,
  UpdateAssignmentBody,
  UpdateAssignmentResponse,
} from '../../schemas/grading.js';
import { withProblems } from '../../schemas/problem.js';
import { RosterBody, RosterQuery, RosterResponse, TokenResponse } from '../../schemas/roster.js';
import type { Services } from '../../services.js';
import { bearerToken } from '../auth.js';

export const gradingCourseRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const { course } = services;
  const tags = ['grading'];
  const security = [{ bearer: [] }];
  const config = { auth: 'own' as const };
  const params = AssignmentParams;
  // a roster may come as a spreadsheet's CSV export (this plugin's routes only)
  app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string' }, (_req, body, done) => done(null, body));
  const csvOr = <T>(format: 'csv' | 'json', r: { json: T; csv: string }) => (format === 'csv' ? r.csv : r.json);
  const rosterResponse = withProblems(
    z.union([RosterResponse, z.string().meta({ description: 'text/csv: student,token,name,email' })]),
  );

  app.patch(
    '/v1/assignments/:id',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Change title, course rules or questions (instructor); new questions regrade every submission',
        params,
        body: UpdateAssignmentBody,
        response: withProblems(UpdateAssignmentResponse),
      },
    },
    async (req) => course.update(bearerToken(req), req.params.id, req.body),
  );
  app.post(
    '/v1/assignments/:id/regrade',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Regrade every stored submission from its stored answers (instructor), with a reason',
        params,
        body: RegradeBody,
        response: withProblems(RegradeSummary),
      },
    },
    async (req) => course.regrade(bearerToken(req), req.params.id, req.body.reason),
  );
  app.get(
    '/v1/assignments/:id/regrades',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Every regrade: submission, student, old and new score, reason, timestamp (instructor)',
        params,
        response: withProblems(RegradeHistory),
      },
    },
    async (req) => course.history(bearerToken(req), req.params.id),
  );
  app.post(
    '/v1/assignments/:id/roster',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Add students (CSV with a header, or JSON); answers the roster with each token (instructor)',
        params,
        querystring: RosterQuery,
        body: z.union([RosterBody, z.string().meta({ description: 'text/csv: student[,name][,email]' })]),
        response: rosterResponse,
      },
    },
    async (req, reply) => {
      const r = await course.enroll(bearerToken(req), req.params.id, req.body);
      if (req.query.format === 'csv') reply.type('text/csv; charset=utf-8');
      return csvOr(req.query.format, r);
    },
  );
  app.get(
    '/v1/assignments/:id/roster',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'The roster with each student’s current token (instructor); CSV by default',
        params,
        querystring: RosterQuery,
        response: rosterResponse,
      },
    },
    async (req, reply) => {
      const r = await course.roster(bearerToken(req), req.params.id);
      if (req.query.format === 'csv') reply.type('text/csv; charset=utf-8');
      return csvOr(req.query.format, r);
    },
  );
  app.post(
    '/v1/assignments/:id/roster/:student/token',
    {
      config,
      schema: {
        tags,
        security,
        summary: 'Rotate a student’s token (instructor): the old one stops working, submissions are kept',
        params: ProblemParams,
        response: withProblems(TokenResponse),
      },
    },
    async (req) => course.rotate(bearerToken(req), req.params.id, req.params.student),
  );
};
