// Request hygiene before validation: a compressed body is a 415 (the server does not inflate bodies, and
// parsing gzip as JSON would be a misleading 400), and ?access_token= (read by the token check) is taken
// out of the query so that routes with strict query schemas do not refuse it as an unknown key.
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

export function registerRequestGuards(app: FastifyInstance): void {
  app.addHook('preParsing', async (request, _reply, payload) => {
    const encoding = request.headers['content-encoding']?.trim().toLowerCase();
    if (encoding && encoding !== 'identity')
      throw new AppError(
        'unsupported-media-type',
        `Content-Encoding: ${encoding} is not accepted: send the JSON body uncompressed`,
        undefined,
        { 'accept-encoding': 'identity' },
      );
    return payload;
  });
  app.addHook('preValidation', async (request) => {
    const q = request.query as Record<string, unknown> | null | undefined;
    if (q && typeof q === 'object' && 'access_token' in q) delete q.access_token;
  });
}
