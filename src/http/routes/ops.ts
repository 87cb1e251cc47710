// Operations: liveness, readiness, Prometheus metrics, and the catalogue of problem types.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, PROBLEMS, type ProblemSlug } from '../../errors.js';
import { declarePublic } from '../auth.js';
import type { Services } from '../services.js';

export const opsRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  // a load balancer, Prometheus and a reader of a problem's type link carry no token
  declarePublic(app);
  const tags = ['operations'];
  app.get(
    '/health',
    {
      schema: {
        tags,
        summary: 'Liveness: the process answers',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags,
        summary: 'Readiness: the database answers and the worker pool is up; names the kernel backend',
        response: {
          200: z.object({
            status: z.literal('ok'),
            database: z.string(),
            pool: z.object({ threads: z.int(), queued: z.int(), running: z.int() }),
            kernels: z.string(),
          }),
        },
      },
    },
    async () => {
      // a closed, stopped or unreachable database is "not ready" (503), not a server error
      if (!(await services.db.ping())) throw new AppError('overloaded', 'the database does not answer');
      if (!services.pool || services.pool.threads < 1)
        throw new AppError('overloaded', 'the worker pool is not running');
      return {
        status: 'ok' as const,
        database: services.db.name,
        pool: { threads: services.pool.threads, queued: services.pool.queueSize, running: services.pool.running },
        kernels: services.kernelsName,
      };
    },
  );

  app.get('/metrics', { schema: { tags, summary: 'Prometheus metrics', hide: true } }, async (_req, reply) => {
    reply.type(services.metrics.registry.contentType);
    return services.metrics.registry.metrics();
  });

  const catalogue = () =>
    Object.entries(PROBLEMS).map(([slug, [status, title]]) => ({ type: `/problems/${slug}`, status, title }));
  app.get('/problems', { schema: { tags, summary: 'Every problem type unroll answers with' } }, async () =>
    catalogue(),
  );
  app.get(
    '/problems/:slug',
    { schema: { tags, summary: 'One problem type', params: z.object({ slug: z.string() }) } },
    async (req) => {
      const p = PROBLEMS[req.params.slug as ProblemSlug];
      if (!p) throw new AppError('not-found', `no problem type "${req.params.slug}"`);
      return { type: `/problems/${req.params.slug}`, status: p[0], title: p[1] };
    },
  );
};
