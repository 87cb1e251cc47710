// OpenAPI generated from the zod schemas (@fastify/swagger): the document at /openapi.json, the UI at /docs.
// The document lints clean with `redocly lint` (recommended rules, redocly.yaml): every operation has an
// operationId and its security, the WebSocket routes name their frames, /metrics is described, and
// components no operation reaches are left out. `scripts/lint-specs.sh` runs the linters.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { declarePublic, PUBLIC } from './auth.js';
import { PARAMETER_EXAMPLES, REQUEST_EXAMPLES } from './examples.js';

export const OPENAPI_INFO = {
  title: 'unroll',
  description:
    'The Elman recurrent network of the exercise sheet as a service: forward, BPTT, the Jacobian dh_t/dθ, gradcheck, stored models, training runs and autograding. Tensors are nested JSON arrays, row-major, batch first. Every error is application/problem+json (RFC 9457). With UNROLL_API_TOKENS set, /v1 and /v2 need `Authorization: Bearer <token>`; the health, metrics and documentation routes never do.',
  version: '0.1.0',
};

type Json = Record<string, unknown>;
type Operation = Json & { responses?: Record<string, Json>; security?: unknown[] };

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

/** `POST /v1/models/:id/forward` → `postModelsByIdForward`; /v2 keeps its prefix (`getV2ModelsByName`). */
export function operationId(method: string, url: string): string {
  const words = url
    .replace(/^\/v1(?=\/|$)/, '')
    .split('/')
    .filter(Boolean)
    .map((s) => (s.startsWith(':') || s.startsWith('{') ? `By-${s.replace(/[:{}]/g, '')}` : s))
    .flatMap((s) => s.split(/[-_.]/))
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1));
  return method.toLowerCase() + (words.join('') || 'Root');
}

/** The WebSocket routes: what the client sends and what the server answers, by component. */
const WEBSOCKETS: Record<string, { sends?: string; receives: string }> = {
  '/v1/stream': { sends: 'StreamRequest', receives: 'StreamFrame' },
  '/v1/runs/{id}/events': { receives: 'RunEvent' },
};

const METRICS_PATH = {
  get: {
    tags: ['operations'],
    summary: 'Prometheus metrics: request latency per route, compute time, pool and sequence gauges, Node’s own',
    operationId: 'getMetrics',
    security: [],
    responses: {
      '200': {
        description: 'the Prometheus text exposition format, version 0.0.4 (`promtool check metrics` clean)',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
    },
  },
};

const PROBLEM_RESPONSE = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ref('Problem') } },
});

/** Every `#/components/schemas/X` that `value` refers to, transitively through `schemas`. */
function reachable(value: unknown, schemas: Record<string, unknown>, seen = new Set<string>()): Set<string> {
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string' && x.startsWith('#/components/schemas/')) {
          const id = x.slice('#/components/schemas/'.length);
          if (!seen.has(id)) {
            seen.add(id);
            visit(schemas[id]);
          }
        } else visit(x);
      }
  };
  visit(value);
  return seen;
}

/** Examples for Try it out: every request body, and the path parameters (see examples.ts). */
function addExamples(paths: Record<string, Record<string, Operation>>): void {
  for (const [url, ops] of Object.entries(paths))
    for (const [method, op] of Object.entries(ops)) {
      const body = (op.requestBody as { content?: Record<string, Json> } | undefined)?.content?.['application/json'];
      const example = REQUEST_EXAMPLES[`${method.toUpperCase()} ${url}`];
      if (body && example !== undefined) body.example = example;
      for (const p of (op.parameters ?? []) as Json[])
        if (p.in === 'path' || p.name === 'layout')
          if (PARAMETER_EXAMPLES[p.name as string] !== undefined) p.example = PARAMETER_EXAMPLES[p.name as string];
    }
}

/** The finishing touches on the generated document (see the comment at the top). */
export function finishDocument(doc: Json): Json {
  const paths = { ...(doc.paths as Record<string, Record<string, Operation>>) };
  const components = (doc.components ?? {}) as Json & { schemas?: Record<string, unknown> };
  for (const [url, ws] of Object.entries(WEBSOCKETS)) {
    const op = paths[url]?.get;
    if (!op) continue;
    op.description = [
      'A WebSocket (`Connection: Upgrade`, `Upgrade: websocket`) of JSON text frames.',
      ws.sends ? `The client sends \`${ws.sends}\` frames (#/components/schemas/${ws.sends}).` : '',
      `The server sends \`${ws.receives}\` frames.`,
    ]
      .filter(Boolean)
      .join(' ');
    op.responses = {
      '101': {
        description: `Switching Protocols; then ${ws.receives} frames`,
        content: { 'application/json': { schema: ref(ws.receives) } },
      },
      '426': PROBLEM_RESPONSE('not a WebSocket upgrade'),
      ...(ws.sends ? {} : { '404': PROBLEM_RESPONSE('no such run') }),
    };
    if (ws.sends) op['x-client-frames'] = { schema: ref(ws.sends) };
  }
  const ready = paths['/ready']?.get;
  if (ready?.responses) ready.responses['503'] = PROBLEM_RESPONSE('the database or the worker pool is down');
  const slug = paths['/problems/{slug}']?.get;
  if (slug?.responses) slug.responses['404'] = PROBLEM_RESPONSE('no problem type of that name');
  paths['/metrics'] = METRICS_PATH as unknown as Record<string, Operation>;
  addExamples(paths);

  // keep the components an operation reaches (or that describe WebSocket frames); drop the generated others
  const schemas = components.schemas ?? {};
  const used = reachable(paths, schemas);
  const kept = Object.fromEntries(Object.entries(schemas).filter(([id]) => used.has(id)));
  return {
    ...doc,
    servers: [{ url: '/', description: 'this server (the document is served by the API it describes)' }],
    // a bearer token when UNROLL_API_TOKENS is set, nothing otherwise; public routes say security: []
    security: [{ bearer: [] }, {}],
    paths,
    components: { ...components, schemas: kept },
  };
}

export async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: OPENAPI_INFO,
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              'UNROLL_API_TOKENS (for /v1 and /v2 when set), an instructor token from UNROLL_INSTRUCTOR_TOKENS, or a student’s submission token',
          },
        },
      },
    },
    transform: (args) => {
      const r = jsonSchemaTransform(args);
      const route = args.route as RouteOptions & { websocket?: boolean };
      const method = Array.isArray(route.method) ? route.method[0] : route.method;
      // /v2/ is the prefix's root: the route answers without the slash too, and that is the name the spec uses
      const url = r.url === '/v2/' ? '/v2' : r.url;
      const schema: Json = { ...(r.schema as Json), operationId: operationId(method, url) };
      if (route.config?.auth === 'public') schema.security = [];
      return { schema, url };
    },
    transformObject: (documentObject) => finishDocument(jsonSchemaTransformObject(documentObject) as Json),
  });
  // the documentation is public; its own scope, so that only the UI's routes are declared so
  await app.register(async (scope) => {
    declarePublic(scope);
    await scope.register(swaggerUi, { routePrefix: '/docs' });
  });
  app.get('/openapi.json', { schema: { hide: true }, config: PUBLIC }, async () => app.swagger());
}
