// The error contract: every failure is problem+json from the one handler, naming the path or the limit.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sheetModel, testApp } from '../helpers/app.js';

let app: FastifyInstance;
beforeAll(async () => {
  app = await testApp({
    env: {
      UNROLL_MAX_BODY_BYTES: '100000',
      UNROLL_MAX_COMPUTE_COST: '1000000',
      UNROLL_MAX_OUTPUT_ELEMENTS: '50000',
      UNROLL_MAX_PARAMS: '100000',
    },
  });
});
afterAll(() => app.close());

const model = { config: { inputSize: 2, hiddenSize: 3, outputSize: 2 }, init: { seed: 1 } };
const x = [
  [
    [0.1, 0.2],
    [0.3, 0.4],
  ],
];
const post = (url: string, payload: unknown) =>
  app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json' },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });

async function expectProblem(res: Awaited<ReturnType<typeof post>>, status: number, path?: (string | number)[]) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const p = res.json();
  expect(p).toMatchObject({
    status,
    type: expect.stringMatching(/^\/problems\//),
    title: expect.any(String),
    detail: expect.any(String),
  });
  if (path) expect(p.issues.map((i: { path: unknown }) => i.path)).toContainEqual(path);
  return p;
}

describe('bad input is a 4xx problem that names the path', () => {
  it.each([
    ['ragged x', { model, x: [[[0.1, 0.2], [0.3]]] }, ['x', 0, 1]],
    [
      'a string in x',
      {
        model,
        x: [
          [
            [0.1, 'a'],
            [0.3, 0.4],
          ],
        ],
      },
      ['x', 0, 0, 1],
    ],
    ['null in x', { model, x: [[[0.1, null]]] }, ['x', 0, 0, 1]],
    ['x of the wrong rank', { model, x: [[0.1, 0.2]] }, ['x', 0, 0]],
    ['x of the wrong width', { model, x: [[[0.1, 0.2, 0.3]]] }, ['x']],
    ['an empty batch', { model, x: [] }, ['x']],
    [
      'an unknown activation',
      { model: { ...model, config: { ...model.config, activation: 'sigmoid' } }, x },
      ['model', 'config', 'activation'],
    ],
    [
      'a negative hidden size',
      { model: { ...model, config: { ...model.config, hiddenSize: -1 } }, x },
      ['model', 'config', 'hiddenSize'],
    ],
    ['both weights and init', { model: { ...model, weights: {} }, x }, ['model', 'weights', 'U.weight']],
    ['neither weights nor init', { model: { config: model.config }, x }, ['model']],
    ['an unknown key', { model, x, extra: 1 }, ['extra']],
    ['h0 of the wrong shape', { model, x, h0: [[0, 0]] }, ['h0']],
  ])('%s', async (_name, body, path) => {
    await expectProblem(await post('/v1/forward', body), 400, path as (string | number)[]);
  });

  it('weights of the wrong shape name the weight', async () => {
    const weights = { 'U.weight': [[1, 2]], 'W.weight': [[1]], 'W.bias': [1], 'V.weight': [[1]], 'V.bias': [1] };
    await expectProblem(await post('/v1/forward', { model: { config: model.config, weights }, x }), 400, [
      'model',
      'weights',
      'U.weight',
    ]);
  });

  it('targets out of range, of the wrong shape, or not integers', async () => {
    await expectProblem(await post('/v1/bptt', { model, x, targets: [5] }), 400, ['targets', 0]);
    await expectProblem(await post('/v1/bptt', { model, x, targets: [0, 1] }), 400, ['targets']);
    await expectProblem(await post('/v1/bptt', { model, x, targets: [0.5] }), 400, ['targets', 0]);
    const all = { ...model, config: { ...model.config, readout: 'all' } };
    await expectProblem(await post('/v1/bptt', { model: all, x, targets: [[0, 2]] }), 400, ['targets', 0, 1]);
  });

  it('truncate and wrt are checked', async () => {
    await expectProblem(await post('/v1/bptt', { model, x, targets: [0], truncate: 0 }), 400, ['truncate']);
    await expectProblem(await post('/v1/jacobian', { model, x, wrt: ['V.weight'] }), 400, ['wrt', 0]);
    await expectProblem(await post('/v1/jacobian', { model, x, wrt: [] }), 400, ['wrt']);
  });

  it('a number that overflows JSON (1e400) is not finite', async () => {
    await expectProblem(await post('/v1/forward', `{"model":${JSON.stringify(model)},"x":[[[1e400,0]]]}`), 400, [
      'x',
      0,
      0,
      0,
    ]);
  });

  it('malformed JSON and the wrong media type', async () => {
    const p = await expectProblem(await post('/v1/forward', '{"model":'), 400);
    expect(p.type).toBe('/problems/malformed-json');
    const r = await app.inject({
      method: 'POST',
      url: '/v1/forward',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    });
    await expectProblem(r, 415);
  });

  it('an unknown route or model is a 404 problem', async () => {
    await expectProblem(await app.inject({ method: 'GET', url: '/v1/nope' }), 404);
    await expectProblem(await app.inject({ method: 'GET', url: '/v1/models/nope' }), 404);
  });
});

describe('limits are enforced before any work, and name the limit', () => {
  it('a body above UNROLL_MAX_BODY_BYTES is a 413', async () => {
    const big = { model, x: [Array.from({ length: 20000 }, () => [0.5, 0.5])] };
    const p = await expectProblem(await post('/v1/forward', big), 413);
    expect(p.detail).toContain('UNROLL_MAX_BODY_BYTES');
  });

  it('a request costing more than UNROLL_MAX_COMPUTE_COST is a 413', async () => {
    const wide = { config: { inputSize: 2, hiddenSize: 200, outputSize: 2 }, init: { seed: 1 } };
    const p = await expectProblem(
      await post('/v1/forward', { model: wide, x: [Array.from({ length: 30 }, () => [0.5, 0.5])] }),
      413,
    );
    expect(p.detail).toContain('UNROLL_MAX_COMPUTE_COST = 1000000');
  });

  it('a Jacobian larger than UNROLL_MAX_OUTPUT_ELEMENTS is a 413', async () => {
    // 60 steps × H = 10 × 100 elements of W: 60 000 elements, under the compute cap but over the output cap
    const m = { config: { inputSize: 2, hiddenSize: 10, outputSize: 2 }, init: { seed: 1 } };
    const p = await expectProblem(
      await post('/v1/jacobian', { model: m, x: [Array.from({ length: 60 }, () => [0.5, 0.5])], wrt: ['W.weight'] }),
      413,
    );
    expect(p.detail).toContain('UNROLL_MAX_OUTPUT_ELEMENTS');
  });

  it('a model above UNROLL_MAX_PARAMS is refused before its weights are drawn', async () => {
    const huge = { config: { inputSize: 1, hiddenSize: 100000, outputSize: 1 }, init: { seed: 1 } };
    const p = await expectProblem(await post('/v1/forward', { model: huge, x: [[[1]]] }), 413);
    expect(p.detail).toContain('UNROLL_MAX_PARAMS');
  });
});

describe('non-finite results are a 422 naming the tensor and index', () => {
  it('an overflowing relu network', async () => {
    const blowup = {
      model: {
        config: { inputSize: 1, hiddenSize: 1, outputSize: 2, activation: 'relu' },
        weights: {
          'U.weight': [[1e300]],
          'W.weight': [[1e300]],
          'W.bias': [0],
          'V.weight': [[1e300], [1]],
          'V.bias': [0, 0],
        },
      },
      x: [[[1e300], [1e300]]],
    };
    const p = await expectProblem(await post('/v1/forward', blowup), 422, ['h', 0, 0, 0]);
    expect(p.detail).toMatch(/h\[0\]\[0\]\[0\]/);
    await expectProblem(await post('/v1/bptt', { ...blowup, targets: [0] }), 422);
  });
});

describe('success paths', () => {
  it('init by seed is deterministic and gradcheck passes', async () => {
    const a = await post('/v1/forward', { model: sheetModel, x: [[[1, 2, 3, 4, 5, 6, 7]]] });
    const b = await post('/v1/forward', { model: sheetModel, x: [[[1, 2, 3, 4, 5, 6, 7]]] });
    expect(a.statusCode).toBe(200);
    expect(a.body).toBe(b.body);
    const g = await post('/v1/gradcheck', { model, x, targets: [1] });
    expect(g.statusCode).toBe(200);
    expect(g.json()).toMatchObject({ ok: true, eps: 1e-6, atol: 1e-5, rtol: 1e-3 });
    expect(Object.keys(g.json().tensors)).toEqual(['U.weight', 'W.weight', 'W.bias', 'V.weight', 'V.bias']);
  });

  it('the jacobian has shape (B, T, H, ...shape of the weight)', async () => {
    const r = await post('/v1/jacobian', { model, x, wrt: ['U.weight', 'W.bias'] });
    expect(r.statusCode).toBe(200);
    const j = r.json().jacobian;
    const shape = (a: unknown): number[] => (Array.isArray(a) ? [a.length, ...shape(a[0])] : []);
    expect(shape(j['U.weight'])).toEqual([1, 2, 3, 3, 2]);
    expect(shape(j['W.bias'])).toEqual([1, 2, 3, 3]);
    expect(j['W.weight']).toBeUndefined();
  });
});
