// The HTTP side of UNROLL_OFFLOAD_BYTES (compute/offload.ts does the work): on the routes that declare
// `config.offload`, a JSON body above the size is not parsed here but handed to the route as a RawBody,
// which the route sends to the pool to parse and validate; the validator lets a RawBody by. An answer
// encoded in the pool is written as the bytes it is, past Fastify's serializer. Errors come back as data
// and are rebuilt as the very errors the inline path throws, so the error handlers answer byte for byte alike.
import { errorCodes, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type DecodeSpec, EncodedJson, errorOf, RawBody } from '../compute/offload-wire.js';
import { type ComputeService, DecodeFailure } from '../compute/service.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes a large body as a RawBody (parsed and validated in the pool) and may answer EncodedJson. */
    offload?: boolean;
  }
}

/** The route option of a route whose large bodies are parsed in the pool. */
export const OFFLOAD = { offload: true } as const;

/** The content type Fastify's serializer sends JSON with. */
export const JSON_TYPE = 'application/json; charset=utf-8';

type Done = (err: Error | null, body?: unknown) => void;

/** Whether this request's body of `bytes` goes to the pool unparsed. */
export function offloadsBody(compute: ComputeService, req: FastifyRequest, bytes: number): boolean {
  return req.routeOptions.config?.offload === true && compute.offloads(bytes);
}

/**
 * In this plugin's scope, application/json is read as a Buffer: a large body on an offload route stays raw,
 * any other is parsed by Fastify's own default parser (secure-json-parse, prototype poisoning an error).
 */
export function registerOffloadParser(app: FastifyInstance, compute: ComputeService): void {
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body: Buffer, done: Done) => {
    if (offloadsBody(compute, req, body.length)) return done(null, new RawBody(body));
    json(req, body.toString('utf8'), done);
  });
}

/** The error the inline parser or validator would have thrown. */
function rebuilt(e: DecodeFailure): Error {
  const w = e.wire;
  if (w.kind === 'json') return new errorCodes[w.code]();
  return errorOf(w);
}

/** A RawBody parsed and validated in the pool; throws what the inline path throws for the same bytes. */
export async function decodeBody(
  compute: ComputeService,
  raw: RawBody,
  job: DecodeSpec,
  signal?: AbortSignal,
): Promise<unknown> {
  try {
    const spec = raw.binaryHeader === undefined ? job : ({ ...job, binaryHeader: raw.binaryHeader } as DecodeSpec);
    return await compute.decode(spec, raw.bytes, signal);
  } catch (e) {
    if (e instanceof DecodeFailure) throw rebuilt(e);
    throw e;
  }
}

/** Writes an answer: EncodedJson as its bytes (past the serializer), anything else through the route's schema. */
export function sendAnswer<T>(reply: FastifyReply, answer: T | EncodedJson): never {
  if (answer instanceof EncodedJson) return reply.type(JSON_TYPE).send(answer.bytes) as never;
  return answer as never;
}
