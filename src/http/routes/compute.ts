// POST /v1/forward, /v1/bptt, /v1/jacobian, /v1/gradcheck on an inline model.
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { materialize } from '../../compute/models.js';
import { toTask } from '../../compute/requests.js';
import {
  BpttBody,
  BpttResponse,
  ForwardBody,
  ForwardResponse,
  GradcheckBody,
  GradcheckResponse,
  JacobianBody,
  JacobianResponse,
} from '../../schemas/compute.js';
import { withProblems } from '../../schemas/problem.js';
import type { Services } from '../../services.js';
import { holdAnswer } from '../send-budget.js';
import { clientGone } from '../signal.js';

export const computeRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const { compute, config } = services;
  const hold = (reply: FastifyReply) => holdAnswer(services.sendBudget, reply);
  const tags = ['compute'];
  app.post(
    '/v1/forward',
    {
      schema: {
        tags,
        summary: 'Forward pass: softmax outputs y, last state hT, optionally h and logits',
        body: ForwardBody,
        response: withProblems(ForwardResponse),
      },
    },
    (req, reply) =>
      compute.run(
        toTask('forward', materialize(req.body.model, config.UNROLL_MAX_PARAMS), req.body),
        clientGone(reply),
        hold(reply),
      ),
  );
  app.post(
    '/v1/bptt',
    {
      schema: {
        tags,
        summary: 'Loss and BPTT gradients of every weight (truncated with truncate: k), optionally dh, dx, dh0',
        body: BpttBody,
        response: withProblems(BpttResponse),
      },
    },
    (req, reply) =>
      compute.run(
        toTask('bptt', materialize(req.body.model, config.UNROLL_MAX_PARAMS), req.body),
        clientGone(reply),
        hold(reply),
      ),
  );
  app.post(
    '/v1/jacobian',
    {
      schema: {
        tags,
        summary: 'dh_t/dθ for every t by the sheet’s forward-mode recursion, shape (B, T, H, ...θ)',
        body: JacobianBody,
        response: withProblems(JacobianResponse),
      },
    },
    (req, reply) =>
      compute.run(
        toTask('jacobian', materialize(req.body.model, config.UNROLL_MAX_PARAMS), req.body),
        clientGone(reply),
        hold(reply),
      ),
  );
  app.post(
    '/v1/gradcheck',
    {
      schema: {
        tags,
        summary: 'BPTT against central finite differences, judged like torch.autograd.gradcheck',
        body: GradcheckBody,
        response: withProblems(GradcheckResponse),
      },
    },
    (req, reply) =>
      compute.run(
        toTask('gradcheck', materialize(req.body.model, config.UNROLL_MAX_PARAMS), req.body),
        clientGone(reply),
        hold(reply),
      ),
  );
};
