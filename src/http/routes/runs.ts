// Training runs: create, list, read, cancel, delete, the built-in tasks, and the event log as a WebSocket.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AppError } from '../../errors.js';
import { DELETED, Problem, withProblems } from '../../schemas/problem.js';
import {
  CreateRunBody,
  EventsQuery,
  Run,
  RunCreated,
  RunList,
  RunListQuery,
  RunParams,
  TaskList,
} from '../../schemas/runs.js';
import type { Services } from '../../services.js';
import { TASKS } from '../../training/tasks.js';
import { followRun } from '../../ws/run-events.js';

export const runRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const { runs, config } = services;
  const tags = ['runs'];
  const params = RunParams;

  app.post(
    '/v1/runs',
    {
      schema: {
        tags,
        summary: 'Start a training run on inline data or a built-in task; 202, it trains in the run pool',
        body: CreateRunBody,
        response: { 202: RunCreated, '4xx': Problem, '5xx': Problem },
      },
    },
    async (req, reply) => {
      const created = await runs.create(req.body);
      reply.code(202).header('location', `/v1/runs/${created.id}`);
      return created;
    },
  );
  app.get(
    '/v1/runs',
    {
      schema: { tags, summary: 'List runs, newest first', querystring: RunListQuery, response: withProblems(RunList) },
    },
    async (req) => runs.list(req.query.limit, req.query.offset, req.query.status),
  );
  app.get(
    '/v1/runs/:id',
    {
      schema: {
        tags,
        summary: 'A run: status, progress, metrics, and its model once it succeeded',
        params,
        response: withProblems(Run),
      },
    },
    async (req) => runs.get(req.params.id),
  );
  app.post(
    '/v1/runs/:id/cancel',
    {
      schema: {
        tags,
        summary: 'Cancel a queued or running run; answers once it has stopped (409 if it had finished)',
        params,
        response: withProblems(Run),
      },
    },
    async (req) => runs.cancel(req.params.id),
  );
  app.delete(
    '/v1/runs/:id',
    {
      schema: {
        tags,
        summary: 'Delete a finished run and its event log (its model stays)',
        params,
        response: DELETED,
      },
    },
    async (req, reply) => {
      await runs.delete(req.params.id);
      return reply.code(204).send(null);
    },
  );
  app.get(
    '/v1/tasks',
    { schema: { tags, summary: 'The built-in tasks and their defaults', response: withProblems(TaskList) } },
    async () => ({
      tasks: Object.values(TASKS).map((t) => ({
        name: t.name,
        description: t.description,
        defaults: { ...t.defaults },
      })),
    }),
  );
  app.route({
    method: 'GET',
    url: '/v1/runs/:id/events',
    schema: {
      tags,
      summary: 'WebSocket: the run’s events after ?since=step, then live; closes with 1000 when the run ends',
      params,
      querystring: EventsQuery,
    },
    // before the upgrade, so an unknown run is a plain 404
    preHandler: async (req) => {
      await runs.get((req.params as { id: string }).id);
    },
    handler: async () => {
      throw new AppError(
        'upgrade-required',
        'the event log is a WebSocket: send Connection: Upgrade, Upgrade: websocket',
      );
    },
    wsHandler: (socket, req) => {
      const { id } = req.params as RunParams;
      const { since } = req.query as EventsQuery;
      void followRun(socket, runs, id, since ?? -1, config.UNROLL_WS_SEND_BUDGET);
    },
  });
};
