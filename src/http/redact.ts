// Secrets never reach a log line or an answer: ?access_token= (the dashboard's socket sends its token so)
// is redacted from every URL the server logs or echoes, by the logger's serializers and the error bodies.
import type { FastifyRequest } from 'fastify';

export const REDACTED = '[redacted]';

/** Query parameters whose values are credentials. */
const SECRET_PARAMS = /([?&]access_token=)[^&#]*/gi;

/** The URL with the value of every credential parameter replaced (raw or percent-encoded names alike). */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url.slice(q);
  // a percent-encoded name (access%5Ftoken) is the same parameter to the query parser
  let decodedNames = query;
  try {
    decodedNames = query.replace(/[?&][^=&#]*/g, (name) => decodeURIComponent(name));
  } catch {
    // a malformed escape: redact every value rather than guess
    return `${url.slice(0, q)}?${REDACTED}`;
  }
  const redacted = decodedNames.replace(SECRET_PARAMS, `$1${REDACTED}`);
  return redacted === decodedNames ? url : url.slice(0, q) + redacted;
}

/** pino's `req` serializer as Fastify's, with the URL redacted. */
export function requestSerializer(req: FastifyRequest | { method?: string; url?: string }) {
  const r = req as FastifyRequest;
  return {
    method: r.method,
    url: redactUrl(r.url ?? ''),
    version: r.headers?.['accept-version'],
    host: r.host,
    remoteAddress: r.ip,
    remotePort: r.socket?.remotePort,
  };
}
