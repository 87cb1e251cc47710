// Stored models: CRUD under /v1/models, and the compute routes on a stored model.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { stateDictOf } from '../../compute/models.js';
import { type Op, RawBody } from '../../compute/offload-wire.js';
import { toTask } from '../../compute/requests.js';
import type { StoredModel } from '../../db/models.repo.js';
import {
  BpttInput,
  BpttResponse,
  ForwardInput,
  ForwardResponse,
  GradcheckInput,
  GradcheckResponse,
  JacobianInput,
  JacobianResponse,
} from '../../schemas/compute.js';
import { WeightsInput } from '../../schemas/model.js';
import {
  CreateModelBody,
  LayoutQuery,
  ListQuery,
  ModelDetail,
  ModelList,
  ModelParams,
  ModelSummary,
} from '../../schemas/models.js';
import { DELETED, withProblems } from '../../schemas/problem.js';
import type { Services } from '../../services.js';
import { jsonWithTensors, numbersIn, STREAM_MIN_NUMBERS } from '../json-stream.js';
import { decodeBody, OFFLOAD, registerOffloadParser, sendAnswer } from '../offload.js';
import { holdAnswer } from '../send-budget.js';
import { clientGone } from '../signal.js';

const summary = ({ params: _, ...s }: StoredModel) => s;
const detail = (m: StoredModel, q?: LayoutQuery) => ({ ...summary(m), weights: stateDictOf(m.config, m.params, q) });

/** The model with its weights: through the response schema, or streamed as the client reads when large. */
function sendDetail(reply: FastifyReply, m: StoredModel, q?: LayoutQuery) {
  const weights = stateDictOf(m.config, m.params, q);
  if (numbersIn(weights) < STREAM_MIN_NUMBERS) return { ...summary(m), weights };
  const head = z.encode(ModelSummary, summary(m)) as Record<string, unknown>;
  return reply.type('application/json').send(jsonWithTensors(head, 'weights', weights));
}

export const modelRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const { models, compute } = services;
  const hold = (r: FastifyReply) => holdAnswer(services.sendBudget, r);
  registerOffloadParser(app, compute);
  const tags = ['models'];
  const params = ModelParams;

  app.post(
    '/v1/models',
    {
      schema: {
        tags,
        summary: 'Store a model (weights or init.seed); 201 with its id',
        body: CreateModelBody,
        querystring: LayoutQuery,
        response: { ...withProblems(ModelDetail), 201: ModelDetail },
      },
    },
    async (req, reply) => {
      const m = await models.create(req.body);
      reply.code(201).header('location', `/v1/models/${m.id}`);
      return sendDetail(reply, m, req.query);
    },
  );
  app.get(
    '/v1/models',
    {
      schema: {
        tags,
        summary: 'List stored models, newest first (without weights)',
        querystring: ListQuery,
        response: withProblems(ModelList),
      },
    },
    async (req) => models.list(req.query.limit, req.query.offset),
  );
  app.get(
    '/v1/models/:id',
    {
      schema: {
        tags,
        summary: 'A stored model with its weights, ready for torch.tensor and load_state_dict',
        description:
          '`?layout=torch.nn.RNN` gives the weights as the state_dict of `nn.RNN(d, H, batch_first=True)` ' +
          'named `rnn` plus `nn.Linear(H, C)` named `fc` (`?rnn=`, `?head=` rename them): ' +
          '`bias_ih_l0` holds W.bias and `bias_hh_l0` is zeros.',
        params,
        querystring: LayoutQuery,
        response: withProblems(ModelDetail),
      },
    },
    async (req, reply) => sendDetail(reply, await models.get(req.params.id), req.query),
  );
  app.put(
    '/v1/models/:id/weights',
    {
      schema: {
        tags,
        summary: 'Replace the weights (the body is the state_dict); the version goes up by one',
        description:
          'The body is the state_dict itself, `{"U.weight": [[…]], "W.weight": …, "W.bias": …, "V.weight": …, "V.bias": …}` ' +
          '(or torch.nn.RNN + nn.Linear keys), as `{k: v.tolist() for k, v in model.state_dict().items()}` writes it.',
        params,
        querystring: LayoutQuery,
        body: WeightsInput,
        response: withProblems(ModelDetail),
      },
    },
    async (req) => detail(await models.updateWeights(req.params.id, req.body), req.query),
  );
  app.delete(
    '/v1/models/:id',
    {
      schema: {
        tags,
        summary: 'Delete a stored model',
        params,
        response: DELETED,
      },
    },
    async (req, reply) => {
      await models.delete(req.params.id);
      return reply.code(204).send(null);
    },
  );

  const ctags = ['models', 'compute'];
  // the body is decoded (in the pool when large) before the model is read: a bad body is a 400 either way
  const stored = (op: Op) => async (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const signal = clientGone(reply);
    const body =
      req.body instanceof RawBody
        ? await decodeBody(compute, req.body, { kind: 'decode', what: 'stored', op }, signal)
        : req.body;
    const task = toTask(op, await models.get(req.params.id), body as never, true);
    return sendAnswer(reply, await compute.answer(task, op, signal, hold(reply)));
  };
  app.post(
    '/v1/models/:id/forward',
    {
      schema: {
        tags: ctags,
        summary: 'Forward pass on a stored model (the /v1/forward body without model)',
        params,
        body: ForwardInput,
        response: withProblems(ForwardResponse),
      },
      config: OFFLOAD,
    },
    stored('forward'),
  );
  app.post(
    '/v1/models/:id/bptt',
    {
      schema: {
        tags: ctags,
        summary: 'BPTT on a stored model',
        params,
        body: BpttInput,
        response: withProblems(BpttResponse),
      },
      config: OFFLOAD,
    },
    stored('bptt'),
  );
  app.post(
    '/v1/models/:id/jacobian',
    {
      schema: {
        tags: ctags,
        summary: 'dh_t/dθ on a stored model',
        params,
        body: JacobianInput,
        response: withProblems(JacobianResponse),
      },
      config: OFFLOAD,
    },
    stored('jacobian'),
  );
  app.post(
    '/v1/models/:id/gradcheck',
    {
      schema: {
        tags: ctags,
        summary: 'gradcheck on a stored model',
        params,
        body: GradcheckInput,
        response: withProblems(GradcheckResponse),
      },
      config: OFFLOAD,
    },
    stored('gradcheck'),
  );
};
