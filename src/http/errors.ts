// The one error handler: every error becomes RFC 9457 problem+json (errorToProblem, src/problems.ts picks
// the status), the text of a 5xx never leaks; and the zod validator that keeps zod's issue paths.
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import { safeParse, type z } from 'zod';
import { RawBody } from '../compute/offload-wire.js';
import { AppError, RequestValidationError } from '../errors.js';
import { errorToProblem, problem, toIssues } from '../problems.js';
import { redactUrl } from './redact.js';

export const PROBLEM_TYPE = 'application/problem+json';

/** Validates each request part with its zod schema, keeping zod's issue paths intact (a RawBody: in the pool). */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data) => {
    // a large body left for the pool (http/offload.ts) is validated there, by this same schema
    if (data instanceof RawBody) return { value: data };
    const r = safeParse(schema, data);
    if (r.success) return { value: r.data };
    const part = httpPart === 'params' || httpPart === 'querystring' || httpPart === 'headers' ? httpPart : 'body';
    return { error: new RequestValidationError(toIssues(r.error.issues), part) };
  };

export function registerErrorHandling(app: FastifyInstance, maxBodyBytes: number): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const p = errorToProblem(err, maxBodyBytes);
    if (!p) {
      request.log.info('request cancelled before it finished');
      return reply.code(499).send();
    }
    // a 503 is the server protecting itself, not a fault: one line at warn, without a stack (they come in floods)
    if (p.body.status === 503) request.log.warn({ problem: p.body.type, detail: p.body.detail }, 'request shed');
    else if (p.body.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ problem: p.body.type, detail: p.body.detail }, 'request rejected');
    reply
      .code(p.body.status)
      .headers(p.headers ?? {})
      .type(PROBLEM_TYPE);
    return reply.send({ ...p.body, instance: redactUrl(request.url) });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).type(PROBLEM_TYPE);
    return reply.send({
      ...problem('not-found', `no route ${request.method} ${request.url.split('?')[0]}`),
      instance: redactUrl(request.url),
    });
  });
}

/** Bodies declared larger than the limit but at most this are read and dropped before the 413, so the client can read it. */
export const DRAIN_MAX_BYTES = 64 * 1024 * 1024;

/**
 * A body over UNROLL_MAX_BODY_BYTES is a 413. Fastify answers it and closes the socket while the client is
 * still sending, which most HTTP clients (fetch among them) report as EPIPE instead of the 413. So a
 * declared length up to DRAIN_MAX_BYTES is read and dropped first; anything larger gets Fastify's close.
 */
export function registerBodyLimitDrain(app: FastifyInstance, maxBodyBytes: number): void {
  app.addHook('preParsing', async (request, _reply, payload) => {
    const declared = Number(request.headers['content-length']);
    if (!(declared > maxBodyBytes && declared <= DRAIN_MAX_BYTES)) return payload;
    await new Promise<void>((resolve) => {
      payload.on('data', () => {});
      payload.once('end', resolve);
      payload.once('error', () => resolve());
      payload.once('close', () => resolve());
    });
    throw new AppError(
      'body-too-large',
      `the body is ${declared} bytes, above UNROLL_MAX_BODY_BYTES = ${maxBodyBytes}`,
    );
  });
}
