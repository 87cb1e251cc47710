// POST /v1/trace: the unrolled computation of a tiny model as a Wengert list with adjoints, and as DOT.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { traceRequest } from '../../grading/trace.js';
import { withProblems } from '../../schemas/problem.js';
import { TraceBody, TraceResponse } from '../../schemas/trace.js';
import type { Services } from '../../services.js';

export const traceRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.post(
    '/v1/trace',
    {
      schema: {
        tags: ['teaching'],
        summary:
          'The unrolled network of a tiny model (sizes ≤ 4, T ≤ 6), one node per scalar operation as Exercise 3 writes it, with adjoints seeded at h_t or the loss, and Graphviz DOT',
        body: TraceBody,
        response: withProblems(TraceResponse),
      },
    },
    async (req) => traceRequest(req.body, services.config.UNROLL_MAX_PARAMS),
  );
};
