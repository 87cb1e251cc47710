// Issue 12, item 9: the small ones. A long (valid) student id, the router's 414 and the parser's 431 as
// problem+json, ?access_token= on strict query schemas, the bearer scheme in any case, 503s logged as one
// warn line, a compressed body a 415, and /v2 sequences bound to the token that opened them.
import { once } from 'node:events';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/open.js';
import { buildApp } from '../../src/http/app.js';
import { testApp } from '../helpers/app.js';
import { infer, inferBody, makeX, storeModel } from '../helpers/v2.js';

const teacher = { authorization: 'Bearer teach' };

describe('router and parser errors', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp({ env: { UNROLL_INSTRUCTOR_TOKENS: 'teach' } });
  });
  afterAll(() => app.close());

  it('routes a student id of 101–128 characters (valid by the schema) instead of a 414', async () => {
    const id = (
      await app.inject({ method: 'POST', url: '/v1/assignments', headers: teacher, payload: { preset: 'sheet-ex3' } })
    ).json().id;
    for (const n of [101, 128]) {
      const student = 's'.repeat(n);
      const r = await app.inject({ url: `/v1/assignments/${id}/problems/${student}`, headers: teacher });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json().student).toBe(student);
    }
  });

  it('answers a path segment over the router limit with a 414 problem+json', async () => {
    const r = await app.inject({ url: `/v1/models/${'m'.repeat(2000)}` });
    expect(r.statusCode).toBe(414);
    expect(r.headers['content-type']).toContain('application/problem+json');
    expect(r.json()).toMatchObject({ status: 414, type: '/problems/uri-too-long' });
  });

  it('answers headers larger than Node parses with a 431 problem+json', async () => {
    const real = await testApp();
    await real.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = real.server.address() as { port: number };
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      socket.write(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
      let text = '';
      socket.on('data', (d) => {
        text += d.toString();
      });
      await once(socket, 'close');
      expect(text).toMatch(/^HTTP\/1\.1 431 /);
      expect(text).toMatch(/content-type: application\/problem\+json/i);
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
      expect(body).toMatchObject({ status: 431, type: '/problems/headers-too-large' });
    } finally {
      await real.close();
    }
  });
});

describe('tokens', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp({ env: { UNROLL_API_TOKENS: 'alpha,beta' } });
  });
  afterAll(() => app.close());

  it('accepts ?access_token= on routes whose query schema is strict', async () => {
    const r = await app.inject({ url: '/v1/runs?limit=5&access_token=alpha' });
    expect(r.statusCode, r.body).toBe(200);
    // and a wrong one is still a 401, not a pass
    expect((await app.inject({ url: '/v1/runs?access_token=nope' })).statusCode).toBe(401);
  });

  it('reads the bearer scheme case-insensitively (RFC 7235)', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      const r = await app.inject({ url: '/v1/models', headers: { authorization: `${scheme} alpha` } });
      expect(r.statusCode, scheme).toBe(200);
    }
    expect((await app.inject({ url: '/v1/models', headers: { authorization: 'Basic alpha' } })).statusCode).toBe(401);
  });

  it('binds a /v2 sequence to the token that opened it', async () => {
    const alpha = { authorization: 'Bearer alpha' };
    const beta = { authorization: 'Bearer beta' };
    const create = await app.inject({
      method: 'POST',
      url: '/v1/models',
      headers: alpha,
      payload: { name: 'owned', config: { inputSize: 3, hiddenSize: 4, outputSize: 2 }, init: { seed: 1 } },
    });
    expect(create.statusCode).toBe(201);
    const x = makeX(1, 2, 3);
    const post = (headers: Record<string, string>, parameters: Record<string, unknown>) =>
      app.inject({ method: 'POST', url: '/v2/models/owned/infer', headers, payload: inferBody(x, { parameters }) });
    expect((await post(alpha, { sequence_id: 'mine', sequence_start: true })).statusCode).toBe(200);
    // another token neither continues nor ends it: to beta, "mine" is a sequence that was never started
    const theirs = await post(beta, { sequence_id: 'mine', sequence_end: true });
    expect(theirs.statusCode).toBe(400);
    expect(theirs.json().error).toMatch(/not a live sequence/);
    expect((await post(alpha, { sequence_id: 'mine', sequence_end: true })).statusCode).toBe(200);
  });
});

describe('a per-token cap on open sequences', () => {
  it('refuses a token its next sequence past UNROLL_MAX_SEQUENCES_PER_TOKEN; other tokens still start theirs', async () => {
    const app = await testApp({ env: { UNROLL_API_TOKENS: 'alpha,beta', UNROLL_MAX_SEQUENCES_PER_TOKEN: '2' } });
    try {
      const alpha = { authorization: 'Bearer alpha' };
      const beta = { authorization: 'Bearer beta' };
      await app.inject({
        method: 'POST',
        url: '/v1/models',
        headers: alpha,
        payload: { name: 'm', config: { inputSize: 3, hiddenSize: 4, outputSize: 2 }, init: { seed: 1 } },
      });
      const start = (headers: Record<string, string>, id: string) =>
        app.inject({
          method: 'POST',
          url: '/v2/models/m/infer',
          headers,
          payload: inferBody(makeX(1, 2, 3), { parameters: { sequence_id: id, sequence_start: true } }),
        });
      expect((await start(alpha, 'a1')).statusCode).toBe(200);
      expect((await start(alpha, 'a2')).statusCode).toBe(200);
      const third = await start(alpha, 'a3');
      expect(third.statusCode).toBe(503);
      expect(third.headers['retry-after']).toBeDefined();
      expect(third.json().error).toContain('UNROLL_MAX_SEQUENCES_PER_TOKEN');
      expect((await start(beta, 'b1')).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('without tokens, sequences share one namespace (what the docs say)', async () => {
    const app = await testApp();
    try {
      const name = await storeModel(app, { name: 'shared', d: 3 });
      const x = makeX(1, 2, 3);
      const start = await infer(app, name, inferBody(x, { parameters: { sequence_id: 's', sequence_start: true } }));
      expect(start.statusCode).toBe(200);
      const other = await infer(app, name, inferBody(x, { parameters: { sequence_id: 's', sequence_end: true } }));
      expect(other.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('bodies and logs', () => {
  it('answers Content-Encoding: gzip with a 415 problem, not a 400', async () => {
    const app = await testApp();
    try {
      const r = await app.inject({
        method: 'POST',
        url: '/v1/forward',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        payload: Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]),
      });
      expect(r.statusCode).toBe(415);
      expect(r.json()).toMatchObject({ status: 415, type: '/problems/unsupported-media-type' });
      expect(r.json().detail).toContain('gzip');
    } finally {
      await app.close();
    }
  });

  it('logs a 503 as one warn line without a stack trace', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk, _e, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        cb();
      },
    });
    const db = await openDatabase({ dataDir: ':memory:' });
    const app = await buildApp(loadConfig({}), { db, pool: null, logger: { level: 'info', stream } });
    try {
      // no worker pool: /ready is a 503
      expect((await app.inject({ url: '/ready' })).statusCode).toBe(503);
      const shed = lines.filter((l) => (l.level as number) >= 40);
      expect(shed).toHaveLength(1);
      expect(shed[0].level).toBe(40);
      expect(JSON.stringify(shed[0])).not.toContain('stack');
    } finally {
      await app.close();
      await db.close();
    }
  });
});
