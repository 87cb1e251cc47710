// Errors under /v2 as the Open Inference Protocol and Triton send them: {"error": "..."} with 400, 404 or
// 503 (401/403 when API tokens are on). The same errors as /v1, read by errorToProblem, in another dress.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RequestValidationError } from '../errors.js';
import { errorToProblem } from '../problems.js';

/** Issues spelled out in one error string; a client sees the rest once it fixes these. */
const MAX_ISSUES_IN_MESSAGE = 5;

/** The protocol's statuses: not found and overloaded keep theirs, auth keeps its own, any other 4xx is a 400. */
export function v2Status(status: number): number {
  if (status === 404 || status === 503 || status === 401 || status === 403) return status;
  if (status === 429) return 503; // both say "retry later"; Retry-After goes along
  if (status >= 500) return 500;
  return 400;
}

function messageOf(err: unknown, detail: string): string {
  if (!(err instanceof RequestValidationError) || !err.issues?.length) return detail;
  const listed = err.issues
    .slice(0, MAX_ISSUES_IN_MESSAGE)
    .map((i) => `at ${JSON.stringify(i.path)}: ${i.message}`)
    .join('; ');
  const more = err.issues.length - MAX_ISSUES_IN_MESSAGE;
  return `invalid ${err.part} ${listed}${more > 0 ? `; and ${more} more` : ''}`;
}

export function registerV2Errors(app: FastifyInstance, maxBodyBytes: number): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const p = errorToProblem(err, maxBodyBytes);
    if (!p) {
      request.log.info('request cancelled before it finished');
      return reply.code(499).send();
    }
    // a conflict to retry (a sequence chunk that lost a race to another request) says "retry later": a 503,
    // not a 400 that tells the client its request was wrong
    const status = p.body.status === 409 && p.headers?.['retry-after'] !== undefined ? 503 : v2Status(p.body.status);
    if (status === 503) request.log.warn({ status, detail: p.body.detail }, 'request shed');
    else if (status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ status, detail: p.body.detail }, 'request rejected');
    reply
      .code(status)
      .headers(p.headers ?? {})
      .type('application/json');
    return reply.send({ error: messageOf(err, p.body.detail) });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .type('application/json')
      .send({ error: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
}
