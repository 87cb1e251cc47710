// Triton's binary tensor data extension, request side (what tritonclient sends by default): the body is a
// JSON header of Inference-Header-Content-Length bytes, then each input's raw little-endian bytes, in input
// order, for the inputs whose parameters give binary_data_size. Responses stay JSON, which clients read too.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { INFERENCE_HEADER, splitBinaryBody } from '../compute/binary-tensors.js';
import { RawBody } from '../compute/offload-wire.js';
import type { ComputeService } from '../compute/service.js';
import { AppError } from '../errors.js';
import { offloadsBody } from './offload.js';

export { INFERENCE_HEADER, splitBinaryBody };

/**
 * Inside the /v2 plugin only: JSON as usual, and the binary form when the header is there, whatever the
 * content type (tritonclient sends none).
 */
export function registerBinaryInputs(app: FastifyInstance, compute?: ComputeService): void {
  const json = app.getDefaultJsonParser('error', 'error');
  const parse = (req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
    const h = req.headers[INFERENCE_HEADER];
    // a large body on an offload route is split and parsed in the pool, by the same functions (http/offload.ts)
    const raw = compute !== undefined && offloadsBody(compute, req, body.length);
    if (h !== undefined) {
      if (raw) return done(null, new RawBody(body, Number(h)));
      try {
        done(null, splitBinaryBody(body, Number(h)));
      } catch (e) {
        done(e as Error);
      }
      return;
    }
    if (/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
      return raw ? done(null, new RawBody(body)) : json(req, body.toString('utf8'), done);
    done(
      new AppError(
        'unsupported-media-type',
        `send application/json, or binary tensor data with an ${INFERENCE_HEADER} header`,
      ),
    );
  };
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'application/octet-stream'], { parseAs: 'buffer' }, parse);
  app.addContentTypeParser('*', { parseAs: 'buffer' }, parse);
}
