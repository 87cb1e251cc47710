// Every error as RFC 9457 problem details: zod failures, coded domain errors, core errors and Fastify's own
// 4xx. The HTTP error handlers (http/errors.ts, http/v2-errors.ts) and the stream's error frames
// (ws/stream.ts) all ask errorToProblem, so a status is chosen in one place.
import type { FastifyError } from 'fastify';
import type { z } from 'zod';
import { CancelledError, NonFiniteError, ShapeError } from './core/errors.js';
import { isDatabaseUnavailable } from './db/errors.js';
import { AppError, PROBLEMS, type ProblemSlug } from './errors.js';
import type { Issue, Problem } from './schemas/problem.js';

/** zod's issues as {path, message}; an unrecognized key is reported at its own path. */
export function toIssues(issues: readonly z.core.$ZodIssue[]): Issue[] {
  return issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({ path: [...(i.path as (string | number)[]), k], message: `unrecognized key "${k}"` }))
      : [{ path: i.path as (string | number)[], message: i.message }],
  );
}

export function problem(slug: ProblemSlug, detail: string, issues?: Issue[]): Problem {
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
