// buildApp(config, deps): the Fastify app over the services createServices builds (src/services.ts), with
// every plugin and route registered explicitly. It never listens, so tests build one on :memory: and inject.
import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from '../config.js';
import { registerRequestMetrics } from '../metrics.js';
import { createServices, type ServiceDeps, type Services } from '../services.js';
import { registerApiTokens } from './auth.js';
import { clientErrorHandler, frameworkErrors, MAX_PARAM_LENGTH } from './client-errors.js';
import { OPENAPI_INFO, registerDocs } from './docs.js';
import { registerBodyLimitDrain, registerErrorHandling, validatorCompiler } from './errors.js';
import { registerOriginCheck } from './origin.js';
import { requestSerializer } from './redact.js';
import { registerRequestGuards } from './request-guards.js';
import { OneLineLogController } from './request-log.js';
import { computeRoutes } from './routes/compute.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { gradingRoutes } from './routes/grading.js';
import { gradingCourseRoutes } from './routes/grading-course.js';
import { historyRoutes } from './routes/history.js';
import { modelRoutes } from './routes/models.js';
import { opsRoutes } from './routes/ops.js';
import { runRoutes } from './routes/runs.js';
import { streamRoutes } from './routes/stream.js';
import { traceRoutes } from './routes/trace.js';
import { v2Routes } from './routes/v2.js';
import { registerSendBudget } from './send-budget.js';
import { closeSockets } from './shutdown.js';

/** What the services need (the database, the compute pool, the kernels), and the logger's options. */
export interface AppDeps extends Omit<ServiceDeps, 'log' | 'version'> {
  /** pino options, or false for none (tests). */
  logger?: boolean | Record<string, unknown>;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

/** Every logger gets the serializers that redact credentials from URLs. */
function loggerOptions(logger: boolean | Record<string, unknown>): boolean | Record<string, unknown> {
  if (logger === false) return false;
  const opts = logger === true ? {} : logger;
  return { ...opts, serializers: { req: requestSerializer, ...(opts.serializers as object | undefined) } };
}

export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(deps.logger ?? { level: config.LOG_LEVEL }),
    bodyLimit: config.UNROLL_MAX_BODY_BYTES,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors,
    clientErrorHandler,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // a client's slow trickle must not hold a socket forever
    requestTimeout: 120_000,
    // one line per request at info (src/http/request-log.ts)
    logController: new OneLineLogController(),
  }).withTypeProvider<ZodTypeProvider>();
  // JSON only: a text/plain body is a 415 rather than a string that fails validation
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app, config.UNROLL_MAX_BODY_BYTES);
  registerBodyLimitDrain(app, config.UNROLL_MAX_BODY_BYTES);
  registerRequestGuards(app);

  const services = await createServices(config, { ...deps, log: app.log, version: OPENAPI_INFO.version });
  app.decorate('services', services);
  registerSendBudget(app, services.sendBudget);
  app.addHook('onClose', async () => services.sequences.close());

  registerRequestMetrics(app, services.metrics);
  await app.register(helmet, { global: true });
  if (config.UNROLL_CORS_ORIGINS.length) {
    await app.register(cors, {
      origin: config.UNROLL_CORS_ORIGINS.includes('*') ? true : [...config.UNROLL_CORS_ORIGINS],
    });
  }
  // before any hook that can refuse a request: its onRequest hook marks upgrade requests, so that a refused
  // upgrade (401, 403) gets its socket closed after the answer instead of left open, holding app.close()
  // preClose: sockets first (1001), so a follower that does not read cannot hold the shutdown
  await app.register(websocket, {
    options: { maxPayload: config.UNROLL_WS_MAX_PAYLOAD },
    preClose: async () => closeSockets(app.websocketServer.clients),
  });
  // then the runs stop (recorded failed); every onClose hook, the database's owner's among them, comes after
  app.addHook('preClose', async () => {
    await services.runs.close();
  });
  registerOriginCheck(app, config.UNROLL_CORS_ORIGINS);
  registerApiTokens(app, config.UNROLL_API_TOKENS);
  // limits only the routes that ask for one (config.rateLimit): the submissions
  // with Redis (UNROLL_REDIS_URL) they count there, across every process; Redis down: they let requests by
  await app.register(rateLimit, {
    global: false,
    ...(services.redis
      ? { redis: services.redis, nameSpace: `${config.UNROLL_REDIS_PREFIX}rate:`, skipOnError: true }
      : {}),
  });
  // a training worker serves its health and metrics only
  const worker = config.UNROLL_ROLE === 'worker';
  if (!worker) await registerDocs(app);
  await app.register(opsRoutes, { services, healthOnly: worker });
  if (worker) return app;
  await app.register(computeRoutes, { services });
  await app.register(modelRoutes, { services });
  await app.register(v2Routes, { services, prefix: '/v2' });
  await app.register(gradingRoutes, { services });
  await app.register(gradingCourseRoutes, { services });
  await app.register(traceRoutes, { services });
  await app.register(streamRoutes, { services });
  await app.register(runRoutes, { services });
  await app.register(historyRoutes, { services });
  if (config.UNROLL_DASHBOARD) await app.register(dashboardRoutes);
  return app;
}
