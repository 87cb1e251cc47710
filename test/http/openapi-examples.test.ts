// "Try it out" in /docs works for every route: each request body in /openapi.json has an example, the
// example is valid against its own schema in the document (JSON Schema 2020-12, Ajv), and sent to its
// route with the documented path parameters it is answered with a 2xx.
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';

type Json = Record<string, unknown>;
interface Op {
  method: string;
  path: string;
  schema: Json;
  example: unknown;
  params: Json[];
}

const TEACHER = 'teacher-token';
let app: FastifyInstance;
let doc: Json & { paths: Record<string, Record<string, Json>> };
let ops: Op[];

beforeAll(async () => {
  app = await testApp({ env: { UNROLL_INSTRUCTOR_TOKENS: TEACHER, UNROLL_RUNS_CONCURRENCY: '1' } });
  doc = (await app.inject({ url: '/openapi.json' })).json();
  ops = Object.entries(doc.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod).flatMap(([method, op]) => {
      const media = (op.requestBody as { content?: Record<string, Json> } | undefined)?.content?.['application/json'];
      return media
        ? [
            {
              method,
              path,
              schema: media.schema as Json,
              example: media.example,
              params: (op.parameters ?? []) as Json[],
            },
          ]
        : [];
    }),
  );
});
afterAll(() => app.close());

describe('the examples of /openapi.json', () => {
  it('every JSON request body has an example, valid against its own schema', () => {
    expect(ops.length).toBeGreaterThan(15);
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ ...doc, $id: 'openapi.json' });
    for (const op of ops) {
      expect(op.example, `${op.method} ${op.path} has no example`).toBeDefined();
      const ref = (op.schema.$ref as string) ?? '';
      const validate = ajv.compile({ $ref: `openapi.json${ref}` });
      expect(validate(op.example), `${op.method} ${op.path}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
  });

  it('every path parameter has an example', () => {
    for (const [path, byMethod] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(byMethod))
        for (const p of (op.parameters ?? []) as Json[])
          if (p.in === 'path') expect(p.example, `${method} ${path} {${p.name}}`).toBeDefined();
  });

  it('each example, sent to its route, is answered with a 2xx', async () => {
    const byKey = new Map(ops.map((o) => [`${o.method.toUpperCase()} ${o.path}`, o]));
    const send = async (key: string, values: Record<string, string> = {}, headers: Record<string, string> = {}) => {
      const op = byKey.get(key);
      if (!op) throw new Error(`no operation ${key}`);
      byKey.delete(key);
      const url = op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
        const p = op.params.find((x) => x.name === name);
        return encodeURIComponent(values[name] ?? String(p?.example));
      });
      const r = await app.inject({
        method: op.method.toUpperCase() as 'POST',
        url,
        payload: op.example as object,
        headers,
      });
      expect(r.statusCode, `${key} → ${url}: ${r.body.slice(0, 300)}`).toBeLessThan(300);
      return r;
    };
    // the stored model the path examples name comes first; the weights PUT last (it moves the version on)
    await send('POST /v1/models');
    for (const key of [...byKey.keys()])
      if (!key.includes('/assignments') && key !== 'PUT /v1/models/{id}/weights') await send(key);
    await send('PUT /v1/models/{id}/weights');
    const teacher = { authorization: `Bearer ${TEACHER}` };
    const a = await send('POST /v1/assignments', {}, teacher);
    const id = a.json().id as string;
    await send('PATCH /v1/assignments/{id}', { id }, teacher);
    await send('POST /v1/assignments/{id}/roster', { id }, teacher);
    const problem = (await app.inject({ url: `/v1/assignments/${id}/problems/alice`, headers: teacher })).json();
    await send('POST /v1/assignments/{id}/submissions', { id }, { authorization: `Bearer ${problem.token}` });
    await send('POST /v1/assignments/{id}/regrade', { id }, teacher);
    expect([...byKey.keys()]).toEqual([]);
  });
});
