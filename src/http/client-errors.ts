// Errors answered before a request reaches a route: the router's (a bad URL escape, a path parameter over
// the router's length limit) and the HTTP parser's (headers too large, a request too slow, garbage). They
// are problem+json like every other error, not Fastify's or Node's own JSON.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEMS, type ProblemSlug } from '../errors.js';
import { PROBLEM_TYPE } from './errors.js';
import { redactUrl } from './redact.js';

/**
 * Longest path parameter the router matches (find-my-way counts the raw, still percent-encoded text). A
 * student id may have 128 characters, each up to 3 when percent-encoded; anything longer is a 414.
 */
export const MAX_PARAM_LENGTH = 512;

function body(slug: ProblemSlug, detail: string, instance?: string): string {
  const [status, title] = PROBLEMS[slug];
  return JSON.stringify({ type: `/problems/${slug}`, title, status, detail, ...(instance ? { instance } : {}) });
}

/** Fastify's `frameworkErrors`: the router's 400 (bad URL) and 414 (path parameter too long). */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const slug: ProblemSlug = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'uri-too-long' : 'invalid-request';
  const detail =
    slug === 'uri-too-long'
      ? `a path segment of the URL is longer than the server matches (${MAX_PARAM_LENGTH} characters)`
      : 'the URL has an invalid percent-encoding';
  request.log.info({ problem: slug }, 'request rejected by the router');
  reply
    .code(PROBLEMS[slug][0])
    .type(PROBLEM_TYPE)
    .send(body(slug, detail, redactUrl(request.url)));
}

/** Node's `clientError`: the request could not be parsed, so the answer is written on the socket itself. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let slug: ProblemSlug = 'invalid-request';
  let detail = 'the request could not be parsed as HTTP/1.1';
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    slug = 'headers-too-large';
    detail = 'the request headers are larger than the server accepts (Node’s --max-http-header-size, 16 KiB)';
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    slug = 'request-timeout';
    detail = 'the request was not received in time';
  }
  const status = PROBLEMS[slug][0];
  const text = body(slug, detail);
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nContent-Type: ${PROBLEM_TYPE}\r\nConnection: close\r\n\r\n${text}`,
    );
  socket.destroy();
}
