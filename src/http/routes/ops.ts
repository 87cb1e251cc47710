// Operations: liveness, readiness, Prometheus metrics, and the catalogue of problem types.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AppError, PROBLEMS, type ProblemSlug } from '../../errors.js';
import { Health, ProblemTypeParams, Ready } from '../../schemas/ops.js';
import type { Services } from '../../services.js';
import { declarePublic } from '../auth.js';

export const opsRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  // a load balancer, Prometheus and a reader of a problem's type link carry no token
  declarePublic(app);
  const tags = ['operations'];
  app.get(
    '/health',
    { schema: { tags, summary: 'Liveness: the process answers', response: { 200: Health } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags,
        summary: 'Readiness: the database answers and the worker pool is up; names the kernel backend',
        response: { 200: Ready },
      },
    },
    async () => {
      const { database, pool, kernels } = await services.readiness.check();
      // this route reports the pool's numbers, so a process that computes inline (no pool) is not ready here
      if (!pool) throw new AppError('overloaded', 'the worker pool is not running');
      return { status: 'ok' as const, database, pool, kernels };
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
    { schema: { tags, summary: 'One problem type', params: ProblemTypeParams } },
    async (req) => {
      const p = PROBLEMS[req.params.slug as ProblemSlug];
      if (!p) throw new AppError('not-found', `no problem type "${req.params.slug}"`);
      return { type: `/problems/${req.params.slug}`, status: p[0], title: p[1] };
    },
  );
};
