// The Open Inference Protocol v2 (KServe, Triton, MLServer) on stored models, registered under the /v2
// prefix as its own plugin: its own error and not-found handlers answer {"error"} instead of problem+json.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { JSON_BYTES_PER_NUMBER } from '../../compute/cost.js';
import { RawBody } from '../../compute/offload-wire.js';
import {
  type InferRequest,
  InferRequest as InferRequestSchema,
  InferResponse,
  ModelMetadata,
  ModelPath,
  ModelReady,
  ServerLive,
  ServerMetadata,
  ServerReady,
  VersionPath,
  withV2Errors,
} from '../../schemas/v2.js';
import type { Services } from '../../services.js';
import { PUBLIC, tokenOwner } from '../auth.js';
import { decodeBody, OFFLOAD, sendAnswer } from '../offload.js';
import { holdAnswer } from '../send-budget.js';
import { clientGone } from '../signal.js';
import { registerBinaryInputs } from '../v2-binary.js';
import { registerV2Errors } from '../v2-errors.js';

export const v2Routes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  registerV2Errors(app, services.config.UNROLL_MAX_BODY_BYTES);
  registerBinaryInputs(app, services.compute);
  const { compute, inference: oip } = services;
  const tags = ['open inference protocol v2'];

  app.get(
    '/',
    { schema: { tags, summary: 'Server metadata: name, version, extensions', response: withV2Errors(ServerMetadata) } },
    async () => oip.server(),
  );
  app.get(
    '/health/live',
    { schema: { tags, summary: 'Liveness (never needs a token)', response: withV2Errors(ServerLive) }, config: PUBLIC },
    async () => ({ live: true }),
  );
  app.get(
    '/health/ready',
    {
      schema: {
        tags,
        summary: 'Readiness: the database answers and the pool is up; 503 otherwise (never needs a token)',
        response: withV2Errors(ServerReady),
      },
      config: PUBLIC,
    },
    async () => oip.ready(),
  );

  // every model route twice: without a version (the current one) and with /versions/:version
  for (const [prefix, params] of [
    ['/models/:name', ModelPath],
    ['/models/:name/versions/:version', VersionPath],
  ] as const) {
    const version = (p: { name: string; version?: string }) => p.version;
    app.get(
      prefix,
      {
        schema: {
          tags,
          summary: 'Model metadata: input x [-1, -1, d]; outputs y, h, hT',
          params,
          response: withV2Errors(ModelMetadata),
        },
      },
      async (req) => oip.metadata(req.params.name, version(req.params)),
    );
    app.get(
      `${prefix}/ready`,
      { schema: { tags, summary: 'Model readiness', params, response: withV2Errors(ModelReady) } },
      async (req) => oip.modelReady(req.params.name, version(req.params)),
    );
    app.post(
      `${prefix}/infer`,
      {
        schema: {
          tags,
          summary:
            'Inference: x (FP32 or FP64, [B, T, d], flat or nested) → y, hT (and h on request); stateful with sequence_id',
          params,
          body: InferRequestSchema,
          response: withV2Errors(InferResponse),
        },
        config: OFFLOAD,
      },
      async (req, reply) => {
        const signal = clientGone(reply);
        const body =
          req.body instanceof RawBody
            ? ((await decodeBody(compute, req.body, { kind: 'decode', what: 'v2' }, signal)) as InferRequest)
            : req.body;
        const answer = await oip.infer(
          req.params.name,
          version(req.params),
          body,
          signal,
          tokenOwner(req, services.config.UNROLL_API_TOKENS),
          holdAnswer(services.sendBudget, reply),
        );
        const numbers = answer.outputs.reduce((n, o) => n + o.data.length, 0);
        const encoded = await compute.encode('v2', answer, numbers * JSON_BYTES_PER_NUMBER, signal);
        return encoded ? sendAnswer(reply, encoded) : answer;
      },
    );
  }
};
