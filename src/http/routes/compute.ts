// POST /v1/forward, /v1/bptt, /v1/jacobian, /v1/gradcheck on an inline model. A body above
// UNROLL_OFFLOAD_BYTES arrives as a RawBody and is parsed, validated and made a task in the pool; an answer
// above it is encoded there (http/offload.ts); either way admission (cost, send budget) comes before the work.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { materialize } from '../../compute/models.js';
import { type Op, RawBody } from '../../compute/offload-wire.js';
import { toTask } from '../../compute/requests.js';
import type { ComputeTask } from '../../compute/tasks.js';
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
import type { InlineModel } from '../../schemas/model.js';
import { withProblems } from '../../schemas/problem.js';
import type { Services } from '../../services.js';
import { decodeBody, OFFLOAD, registerOffloadParser, sendAnswer } from '../offload.js';
import { holdAnswer } from '../send-budget.js';
import { clientGone } from '../signal.js';

export const computeRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const { compute, config } = services;
  registerOffloadParser(app, compute);
  const tags = ['compute'];

  const handle = (op: Op) => async (req: FastifyRequest, reply: FastifyReply) => {
    const signal = clientGone(reply);
    const body = req.body as RawBody | { model: InlineModel };
    const task =
      body instanceof RawBody
        ? ((await decodeBody(
            compute,
            body,
            { kind: 'decode', what: 'inline', op, maxParams: config.UNROLL_MAX_PARAMS },
            signal,
          )) as ComputeTask)
        : toTask(op, materialize(body.model, config.UNROLL_MAX_PARAMS), body as never);
    return sendAnswer(reply, await compute.answer(task, op, signal, holdAnswer(services.sendBudget, reply)));
  };

  app.post(
    '/v1/forward',
    {
      schema: {
        tags,
        summary: 'Forward pass: softmax outputs y, last state hT, optionally h and logits',
        body: ForwardBody,
        response: withProblems(ForwardResponse),
      },
      config: OFFLOAD,
    },
    handle('forward'),
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
      config: OFFLOAD,
    },
    handle('bptt'),
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
      config: OFFLOAD,
    },
    handle('jacobian'),
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
      config: OFFLOAD,
    },
    handle('gradcheck'),
  );
};
