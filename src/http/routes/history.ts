// A run's history beside its event socket: the series downsampled on the server, single steps, hidden
// snapshots (GET /v1/runs/:id/history), and every step as CSV or JSON Lines (GET /v1/runs/:id/export).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ExportQuery, HistoryQuery, RunHistory } from '../../schemas/history.js';
import { withProblems } from '../../schemas/problem.js';
import { RunParams } from '../../schemas/runs.js';
import type { Services } from '../../services.js';
import { EXPORT_TYPES } from '../../training/history/export.js';

export const historyRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const { runs } = services;
  const tags = ['runs'];

  app.get(
    '/v1/runs/:id/history',
    {
      schema: {
        tags,
        summary: 'A run’s step series downsampled on the server (min, max, mean per bucket), and its hidden snapshots',
        description:
          'Buckets are `bucket` steps wide and start at multiples of it; `bucket` is the smallest multiple of a ' +
          'power of 16 that keeps the range within `points` buckets, 1 (every step, with its ‖dL/dh_t‖) when ' +
          'the range fits. Snapshots: all in the range, or every `stride`-th to stay within the budget.',
        params: RunParams,
        querystring: HistoryQuery,
        response: withProblems(RunHistory),
      },
    },
    async (req) => runs.history(req.params.id, req.query),
  );
  app.get(
    '/v1/runs/:id/export',
    {
      schema: {
        tags,
        summary: 'Every step of a run with all its metrics, streamed: CSV (a row per step) or JSON Lines (the frames)',
        params: RunParams,
        querystring: ExportQuery,
      },
    },
    async (req, reply) => {
      const { format } = req.query;
      const body = await runs.export(req.params.id, format);
      return reply
        .type(EXPORT_TYPES[format])
        .header('content-disposition', `attachment; filename="run-${req.params.id}.${format}"`)
        .send(body);
    },
  );
};
