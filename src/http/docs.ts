// OpenAPI generated from the zod schemas (@fastify/swagger): the document at /openapi.json, the UI at /docs.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { declarePublic, PUBLIC } from './auth.js';

export const OPENAPI_INFO = {
  title: 'unroll',
  description:
    'The Elman recurrent network of the exercise sheet as a service: forward, BPTT, the Jacobian dh_t/dθ, gradcheck, stored models, training runs and autograding. Tensors are nested JSON arrays, row-major, batch first. Every error is application/problem+json (RFC 9457).',
  version: '0.1.0',
};

export async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: OPENAPI_INFO,
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  // the documentation is public; its own scope, so that only the UI's routes are declared so
  await app.register(async (scope) => {
    declarePublic(scope);
    await scope.register(swaggerUi, { routePrefix: '/docs' });
  });
  app.get('/openapi.json', { schema: { hide: true }, config: PUBLIC }, async () => app.swagger());
}
