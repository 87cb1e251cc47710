// Cross-site WebSocket hijacking: a browser lets a page on any site open a WebSocket to any server (the
// localhost one included) and sends no CORS preflight. So every upgrade is checked before it happens: no
// Origin (a non-browser client), the server's own origin and UNROLL_CORS_ORIGINS are let through; any other
// page gets a 403 and no socket.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

/** Whether a browser page of `origin` may open a socket to this server. */
export function originAllowed(request: FastifyRequest, allowed: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false; // "null" (a sandboxed frame, a file:// page) or garbage
  }
  return host !== '' && host.toLowerCase() === request.headers.host?.toLowerCase();
}

export function registerOriginCheck(app: FastifyInstance, allowed: readonly string[]): void {
  app.addHook('onRequest', async (request) => {
    if (request.headers.upgrade?.toLowerCase() !== 'websocket') return;
    if (!originAllowed(request, allowed))
      throw new AppError(
        'forbidden',
        `WebSocket connections from the page origin ${JSON.stringify(request.headers.origin)} are refused: only the server's own origin and UNROLL_CORS_ORIGINS may connect`,
      );
  });
}
