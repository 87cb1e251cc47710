// GET /v1/stream (WebSocket): forward and bptt operations streamed step by step; see ws/stream.ts.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AppError } from '../../errors.js';
import type { Services } from '../../services.js';
import { streamSession } from '../../ws/stream.js';
import { tokenOwner } from '../auth.js';

export const streamRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const { config } = services;
  app.route({
    method: 'GET',
    url: '/v1/stream',
    schema: {
      tags: ['streams'],
      summary: 'WebSocket: forward/bptt ops answered with per-timestep frames, then the result',
    },
    handler: async () => {
      throw new AppError(
        'upgrade-required',
        'GET /v1/stream is a WebSocket: send Connection: Upgrade, Upgrade: websocket',
      );
    },
    wsHandler: (socket, req) =>
      streamSession(socket, {
        compute: services.compute,
        models: services.models,
        sequences: services.sequences,
        maxParams: config.UNROLL_MAX_PARAMS,
        maxBodyBytes: config.UNROLL_MAX_BODY_BYTES,
        maxOps: config.UNROLL_STREAM_MAX_OPS,
        sendBudget: config.UNROLL_WS_SEND_BUDGET,
        processBudget: services.sendBudget,
        owner: tokenOwner(req, config.UNROLL_API_TOKENS),
        log: req.log,
      }),
  });
};
