// Opt-in bearer tokens: with UNROLL_API_TOKENS set, /v1 and /v2 need one, except the health routes and
// routes that do their own authorization (config.auth = 'own', e.g. the autograding routes).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'own': the route checks its own tokens. */
    auth?: 'own';
  }
}

/** The bearer token of a request: the Authorization header, or ?access_token= (browsers cannot set headers on a WebSocket). */
export function bearerToken(request: FastifyRequest): string | undefined {
  // RFC 7235: the scheme is case-insensitive (Bearer, bearer, BEARER)
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? '');
  if (m) return m[1];
  const q = request.query as Record<string, unknown> | undefined;
  return typeof q?.access_token === 'string' ? q.access_token : undefined;
}

export function tokenIn(token: string | undefined, tokens: readonly string[]): boolean {
  if (!token) return false;
  const t = Buffer.from(token);
  return tokens.some((k) => {
    const b = Buffer.from(k);
    return b.length === t.length && timingSafeEqual(b, t);
  });
}

const OPEN = /^\/v2\/health\//;

export function registerApiTokens(app: FastifyInstance, tokens: readonly string[]): void {
  if (tokens.length === 0) return;
  app.addHook('onRequest', async (request) => {
    const url = request.url;
    if (!(url.startsWith('/v1/') || url.startsWith('/v2'))) return;
    if (OPEN.test(url) || request.routeOptions.config?.auth === 'own') return;
    if (!tokenIn(bearerToken(request), tokens)) {
      throw new AppError(
        'unauthorized',
        'send Authorization: Bearer <token> with one of the UNROLL_API_TOKENS',
        undefined,
        { 'www-authenticate': 'Bearer realm="unroll"' },
      );
    }
  });
}

/**
 * Who owns what a request opens (a /v2 sequence): a digest of its token when API tokens are on, undefined
 * when they are off (then every client shares one namespace). The digest, not the token, is what is kept.
 */
export function tokenOwner(request: FastifyRequest, tokens: readonly string[]): string | undefined {
  if (tokens.length === 0) return undefined;
  const token = bearerToken(request);
  return token ? createHash('sha256').update(token).digest('hex').slice(0, 32) : undefined;
}
