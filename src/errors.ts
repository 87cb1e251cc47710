// Coded errors the services throw; errorToProblem (src/problems.ts) turns each into problem+json.
import type { Issue } from './schemas/problem.js';

/** The problem types unroll answers with: slug → [status, title]. GET /problems lists them. */
export const PROBLEMS = {
  'invalid-request': [400, 'The request is not valid'],
  'malformed-json': [400, 'The body is not valid JSON'],
  unauthorized: [401, 'A bearer token is required'],
  forbidden: [403, 'This token may not do that'],
  'not-found': [404, 'No such resource'],
  conflict: [409, 'The resource is in a state that does not allow this'],
  'request-timeout': [408, 'The request was not received in time'],
  'body-too-large': [413, 'The body is larger than the server accepts'],
  'too-expensive': [413, 'The request would cost more compute than the server allows'],
  'uri-too-long': [414, 'The URL is longer than the server accepts'],
  'unsupported-media-type': [415, 'The body must be application/json'],
  'non-finite': [422, 'The result is not finite'],
  'upgrade-required': [426, 'This route speaks WebSocket: connect with Upgrade: websocket'],
  'rate-limited': [429, 'Too many requests'],
  'headers-too-large': [431, 'The request headers are larger than the server accepts'],
  // nginx's "client closed request": a stream operation its client cancelled
  cancelled: [499, 'The operation was cancelled'],
  internal: [500, 'Internal error'],
  overloaded: [503, 'The server is busy; retry later'],
} as const satisfies Record<string, readonly [number, string]>;
export type ProblemSlug = keyof typeof PROBLEMS;

export class AppError extends Error {
  readonly status: number;
  readonly title: string;
  constructor(
    readonly slug: ProblemSlug,
    detail: string,
    readonly issues?: Issue[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
    this.name = 'AppError';
    [this.status, this.title] = PROBLEMS[slug];
  }
}

/** A request that failed validation: every issue with its path. */
export class RequestValidationError extends AppError {
  constructor(
    issues: Issue[],
    readonly part: 'body' | 'params' | 'querystring' | 'headers' = 'body',
  ) {
    const first = issues[0];
    const where = first ? ` at ${JSON.stringify(first.path)}` : '';
    super(
      'invalid-request',
      `invalid ${part}${where}: ${first?.message ?? 'unknown problem'}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`,
      issues,
    );
    this.name = 'RequestValidationError';
  }
}
