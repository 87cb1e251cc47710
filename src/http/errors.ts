// The one error handler: zod failures, coded domain errors, Fastify's own 4xx and core errors become
// RFC 9457 problem+json. Nobody else picks a status, and the text of a 5xx never leaks.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import { safeParse, type z } from 'zod';
import { CancelledError, NonFiniteError, ShapeError } from '../core/errors.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { AppError, type Issue, PROBLEMS, type ProblemSlug, RequestValidationError } from '../errors.js';

export const PROBLEM_TYPE = 'application/problem+json';

/** zod's issues as {path, message}; an unrecognized key is reported at its own path. */
export function toIssues(issues: readonly z.core.$ZodIssue[]): Issue[] {
  return issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({ path: [...(i.path as (string | number)[]), k], message: `unrecognized key "${k}"` }))
      : [{ path: i.path as (string | number)[], message: i.message }],
  );
}

/** Validates each request part with its zod schema, keeping zod's issue paths intact. */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data) => {
    const r = safeParse(schema, data);
    if (r.success) return { value: r.data };
    const part = httpPart === 'params' || httpPart === 'querystring' || httpPart === 'headers' ? httpPart : 'body';
    return { error: new RequestValidationError(toIssues(r.error.issues), part) };
  };

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  issues?: Issue[];
}

function problem(slug: ProblemSlug, detail: string, issues?: Issue[]): Problem {
  const [status, title] = PROBLEMS[slug];
  return { type: `/problems/${slug}`, title, status, detail, ...(issues?.length ? { issues } : {}) };
}

/** Fastify's own client errors, by code. */
const FASTIFY_CODES: Record<string, ProblemSlug> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body-too-large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed-json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed-json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid-request',
};

/** Retry-After when the database is down or too slow. */
const DATABASE_RETRY_SECONDS = 5;

export function errorToProblem(
  err: unknown,
  maxBodyBytes: number,
): { body: Problem; headers?: Record<string, string> } | null {
  if (err instanceof AppError) return { body: problem(err.slug, err.message, err.issues), headers: err.headers };
  if (err instanceof NonFiniteError) {
    return {
      body: problem('non-finite', `${err.message}: the computation overflowed, so no result is sent`, [
        { path: [err.tensor, ...err.index], message: `${err.value}` },
      ]),
    };
  }
  if (err instanceof ShapeError)
    return { body: problem('invalid-request', err.message, [{ path: err.path, message: err.message }]) };
  if (err instanceof CancelledError) return null;
  if (isDatabaseUnavailable(err))
    return {
      body: problem('overloaded', 'the database is unavailable; retry shortly'),
      headers: { 'retry-after': String(DATABASE_RETRY_SECONDS) },
    };
  const fe = err as FastifyError;
  const slug = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (slug === 'body-too-large')
    return { body: problem(slug, `the body exceeds UNROLL_MAX_BODY_BYTES = ${maxBodyBytes} bytes`) };
  if (slug) return { body: problem(slug, fe.message) };
  if (err instanceof SyntaxError || fe.statusCode === 400) return { body: problem('malformed-json', fe.message) };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const known = (Object.keys(PROBLEMS) as ProblemSlug[]).find((s) => PROBLEMS[s][0] === fe.statusCode);
    return { body: { ...problem(known ?? 'invalid-request', fe.message), status: fe.statusCode } };
  }
  return { body: problem('internal', 'the server failed to handle this request; it has been logged') };
}

export function registerErrorHandling(app: FastifyInstance, maxBodyBytes: number): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const p = errorToProblem(err, maxBodyBytes);
    if (!p) {
      request.log.info('request cancelled before it finished');
      return reply.code(499).send();
    }
    if (p.body.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ problem: p.body.type, detail: p.body.detail }, 'request rejected');
    reply
      .code(p.body.status)
      .headers(p.headers ?? {})
      .type(PROBLEM_TYPE);
    return reply.send({ ...p.body, instance: request.url });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).type(PROBLEM_TYPE);
    return reply.send({
      ...problem('not-found', `no route ${request.method} ${request.url.split('?')[0]}`),
      instance: request.url,
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
