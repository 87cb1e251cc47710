// Every /v2 error path: {"error": "..."} as application/json with 400, 404 or 503 (401 with tokens),
// the message naming the bad field; /v1 keeps problem+json.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v2Status } from '../../src/http/v2-errors.js';
import { databaseOf, testApp } from '../helpers/app.js';
import { infer, inferBody, makeX, storeModel } from '../helpers/v2.js';

let app: FastifyInstance;
beforeAll(async () => {
  app = await testApp();
  await storeModel(app, { name: 'm', d: 3, H: 5, C: 4 });
});
afterAll(() => app.close());

const x = makeX(2, 3, 3);
const good = inferBody(x);

/** The response is a v2 error with this status whose message contains every fragment. */
function expectError(r: LightMyRequestResponse, status: number, ...fragments: string[]) {
  expect(r.statusCode, r.body).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  const body = r.json();
  expect(Object.keys(body)).toEqual(['error']);
  for (const f of fragments) expect(body.error).toContain(f);
}

const withInput = (patch: Record<string, unknown>) => ({ ...good, inputs: [{ ...good.inputs[0], ...patch }] });

describe('404', () => {
  it.each([
    ['GET', '/v2/models/nope'],
    ['GET', '/v2/models/nope/ready'],
    ['POST', '/v2/models/nope/infer'],
    ['GET', '/v2/models/nope/versions/1'],
  ])('%s %s: unknown model', async (method, url) => {
    const r = await app.inject({ method: method as 'GET', url, ...(method === 'POST' ? { payload: good } : {}) });
    expectError(r, 404, '"nope"');
  });

  it('a version other than the current one', async () => {
    expectError(await app.inject({ url: '/v2/models/m/versions/7' }), 404, 'version 1 only', 'version 7');
    expectError(await infer(app, 'm', good, '/v2/models/m/versions/0/infer'), 404, 'version 0');
  });

  it('an unknown route or method under /v2', async () => {
    expectError(await app.inject({ url: '/v2/models' }), 404, 'no route GET /v2/models');
    expectError(await app.inject({ url: '/v2/models/m/infer' }), 404, 'no route GET /v2/models/m/infer');
  });

  it('/v1 keeps problem+json', async () => {
    const r = await app.inject({ url: '/v1/models/nope' });
    expect(r.statusCode).toBe(404);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('400: the request', () => {
  it('malformed JSON', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v2/models/m/infer',
      payload: '{"inputs": [',
      headers: { 'content-type': 'application/json' },
    });
    expectError(r, 400, 'JSON');
  });

  it.each<[string, unknown, string[]]>([
    ['no inputs', { outputs: [] }, ['["inputs"]']],
    ['empty inputs', { inputs: [] }, ['["inputs"]']],
    ['an unknown top-level field', { ...good, input: 1 }, ['["input"]', 'unrecognized key']],
    ['a non-string id', { ...good, id: 42 }, ['["id"]']],
    ['a shape that is not a list of integers', withInput({ shape: [2, 3.5, 3] }), ['["inputs",0,"shape",1]']],
    ['a negative dimension', withInput({ shape: [2, -3, 3] }), ['["inputs",0,"shape",1]']],
    ['an unsupported datatype', withInput({ datatype: 'INT64' }), ['["inputs",0,"datatype"]', 'INT64']],
    ['no data (binary tensors)', withInput({ data: undefined }), ['["inputs",0,"data"]', 'binary']],
    ['data that is not an array', withInput({ data: 'abc' }), ['["inputs",0,"data"]', 'must be an array']],
    ['flat data of the wrong length', withInput({ data: x.flat(2).slice(1) }), ['holds 17 elements', 'needs 18']],
    ['nested data unlike shape', withInput({ shape: [3, 2, 3] }), ['nested data is [2,3,3] but shape is [3,2,3]']],
    ['a ragged nested array', withInput({ data: [x[0], x[1].slice(1)] }), ['["inputs",0,"data",1]', 'length 3']],
    ['a string element', withInput({ data: [[[1, 2, 'a']]], shape: [1, 1, 3] }), ['["inputs",0,"data",0,0,2]']],
    ['an FP32 value out of range', withInput({ datatype: 'FP32', data: [1e39, 0, 0], shape: [1, 1, 3] }), ['1e+39']],
    ['an unknown input name', { inputs: [{ ...good.inputs[0], name: 'input0' }] }, ['"input0"', 'x only']],
    ['x twice', { inputs: [good.inputs[0], good.inputs[0]] }, ['["inputs",1,"name"]', 'twice']],
    ['x of rank 2', withInput({ shape: [6, 3], data: x.flat(2) }), ['["inputs",0,"shape"]', '[B, T, d]']],
    ['an empty batch', withInput({ shape: [0, 3, 3], data: [] }), ['["inputs",0,"shape"]', 'B, T ≥ 1']],
    ['the wrong d', withInput({ shape: [2, 9, 1], data: x.flat(2) }), ['inputSize d = 3']],
    ['an unknown output', { ...good, outputs: [{ name: 'output0' }] }, ['["outputs",0,"name"]', 'y, h, hT']],
    ['an output asked twice', { ...good, outputs: [{ name: 'y' }, { name: 'y' }] }, ['["outputs",1,"name"]']],
    ['a parameter of the wrong type', { ...good, parameters: { p: [1] } }, ['["parameters","p"]']],
  ])('%s', async (_what, payload, fragments) => {
    expectError(await infer(app, 'm', payload), 400, ...fragments);
  });

  it('lists several problems at once', async () => {
    const r = await infer(app, 'm', { inputs: [{ ...good.inputs[0], datatype: 'BOOL', data: [true] }] });
    expectError(r, 400, '["inputs",0,"data"]', '["inputs",0,"datatype"]');
  });
});

describe('400: sequence parameters', () => {
  it.each<[string, Record<string, unknown>, string[]]>([
    ['sequence_start without a sequence_id', { sequence_start: true }, ['sequence_start needs a sequence_id']],
    ['sequence_end with sequence_id 0', { sequence_id: 0, sequence_end: true }, ['sequence_end needs']],
    ['sequence_start with sequence_id ""', { sequence_id: '', sequence_start: true }, ['sequence_start needs']],
    ['a sequence_start that is not a boolean', { sequence_id: 1, sequence_start: 'true' }, ['"sequence_start"']],
    ['a negative sequence_id', { sequence_id: -1, sequence_start: true }, ['"sequence_id"']],
    ['a misspelt sequence parameter', { sequence_id: 1, sequence_star: true }, ['"sequence_star"', 'did you mean']],
    ['an unknown sequence_id', { sequence_id: 'never' }, ['"never" is not a live sequence', 'sequence_start']],
  ])('%s', async (_what, parameters, fragments) => {
    expectError(await infer(app, 'm', { ...good, parameters }), 400, ...fragments);
  });
});

describe('400 for what the server refuses to compute, 413 and 422 in /v1', () => {
  let small: FastifyInstance;
  beforeAll(async () => {
    small = await testApp({ env: { UNROLL_MAX_COMPUTE_COST: '100', UNROLL_MAX_BODY_BYTES: '4096' } });
    await storeModel(small, { name: 'm', d: 3, H: 5, C: 4 });
  });
  afterAll(() => small.close());

  it('a request above the compute cap names the limit', async () => {
    expectError(await infer(small, 'm', inferBody(makeX(4, 4, 3))), 400, 'UNROLL_MAX_COMPUTE_COST = 100');
  });

  it('a body above the size limit names the limit', async () => {
    expectError(await infer(small, 'm', inferBody(makeX(2, 40, 3))), 400, 'UNROLL_MAX_BODY_BYTES');
  });

  it('a result that overflows names the tensor and index', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/models',
      payload: {
        name: 'boom',
        config: { inputSize: 1, hiddenSize: 1, outputSize: 1, activation: 'relu' },
        weights: { 'U.weight': [[1e300]], 'W.weight': [[1e300]], 'W.bias': [0], 'V.weight': [[1]], 'V.bias': [0] },
      },
    });
    expect(r.statusCode).toBe(201);
    expectError(await infer(app, 'boom', inferBody([[[1], [1]]])), 400, 'h[0][1][0] is Infinity');
  });
});

describe('503', () => {
  let one: FastifyInstance;
  beforeAll(async () => {
    one = await testApp({ env: { UNROLL_MAX_SEQUENCES: '1' } });
    await storeModel(one, { name: 'm', d: 3, H: 5, C: 4 });
  });
  afterAll(() => one.close());

  it('a new sequence beyond UNROLL_MAX_SEQUENCES, with Retry-After; ending one frees the slot', async () => {
    const start = (id: string, end = false) =>
      infer(one, 'm', { ...good, parameters: { sequence_id: id, sequence_start: true, sequence_end: end } });
    expect((await start('a')).statusCode).toBe(200);
    const r = await start('b');
    expectError(r, 503, 'UNROLL_MAX_SEQUENCES = 1');
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    expect((await infer(one, 'm', { ...good, parameters: { sequence_id: 'a', sequence_end: true } })).statusCode).toBe(
      200,
    );
    expect((await start('b', true)).statusCode).toBe(200);
  });

  it('sequence state beyond UNROLL_SEQUENCE_MAX_BYTES: 400 for one too large, 503 when others hold it', async () => {
    // B·H·8 = 2·5·8 = 80 bytes per sequence of x; the budget holds one
    const tight = await testApp({ env: { UNROLL_SEQUENCE_MAX_BYTES: '100' } });
    try {
      await storeModel(tight, { name: 'm', d: 3, H: 5, C: 4 });
      const start = (id: string, body = good) =>
        infer(tight, 'm', { ...body, parameters: { sequence_id: id, sequence_start: true } });
      expectError(await start('big', inferBody(makeX(3, 1, 3))), 400, 'UNROLL_SEQUENCE_MAX_BYTES = 100');
      expect((await start('a')).statusCode).toBe(200);
      expectError(await start('b'), 503, 'UNROLL_SEQUENCE_MAX_BYTES = 100');
    } finally {
      await tight.close();
    }
  });

  it('not ready once the database is gone', async () => {
    const broken = await testApp();
    await databaseOf(broken).close();
    expectError(await broken.inject({ url: '/v2/health/ready' }), 503, 'database');
    await broken.close();
  });

  it('maps statuses the protocol does not use', () => {
    expect([404, 503, 401, 413, 415, 422, 409, 429, 500].map(v2Status)).toEqual([
      404, 503, 401, 400, 400, 400, 400, 503, 500,
    ]);
  });
});

describe('API tokens', () => {
  let locked: FastifyInstance;
  beforeAll(async () => {
    locked = await testApp({ env: { UNROLL_API_TOKENS: 'sesame' } });
  });
  afterAll(() => locked.close());

  it('health is open; everything else needs the token and says so in {"error"}', async () => {
    expect((await locked.inject({ url: '/v2/health/live' })).statusCode).toBe(200);
    expect((await locked.inject({ url: '/v2/health/ready' })).statusCode).toBe(200);
    const r = await locked.inject({ url: '/v2' });
    expectError(r, 401, 'UNROLL_API_TOKENS');
    expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
    expectError(await locked.inject({ url: '/v2/models/m' }), 401);
    expectError(await infer(locked, 'm', good), 401);
    const ok = await locked.inject({ url: '/v2', headers: { authorization: 'Bearer sesame' } });
    expect(ok.statusCode).toBe(200);
  });
});
