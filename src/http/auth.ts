// Opt-in bearer tokens: with UNROLL_API_TOKENS set, every route needs one unless it is declared public
// (config.auth = 'public': health, readiness, metrics, docs, the page) or does its own authorization
// (config.auth = 'own': the autograding routes). The decision is made on the route that matched, never on
// the raw URL: the router decodes and normalizes the target (percent-encoding, absolute form), so a prefix
// test of request.url can be walked around. A request that matches no route is denied too.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Unset: the route needs an API token (when tokens are on). 'public': never. 'own': it checks its own. */
    auth?: 'public' | 'own';
  }
}

/** The route option of a route that never needs a token. */
export const PUBLIC = { auth: 'public' } as const;

/** Declares public every route registered from here on in this scope: for plugins whose routes are not ours to write (static files, the docs UI). */
export function declarePublic(scope: FastifyInstance): void {
  scope.addHook('onRoute', (route) => {
    route.config = { ...route.config, auth: 'public' } as typeof route.config;
  });
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

export function registerApiTokens(app: FastifyInstance, tokens: readonly string[]): void {
  if (tokens.length === 0) return;
  app.addHook('onRequest', async (request) => {
    // the 404 handler's route is nobody's declaration: deny it like any protected route
    const auth = request.is404 ? undefined : request.routeOptions.config?.auth;
    if (auth === 'public' || auth === 'own') return;
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
