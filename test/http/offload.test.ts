// UNROLL_OFFLOAD_BYTES (issue 14, item 1): a body or answer above it is parsed, validated and encoded in a
// pool worker. The client must not be able to tell: the same request to an app that offloads everything
// (0) and to one that offloads nothing (Infinity) gets the same status, headers that matter and body, byte
// for byte: answers of every op and include, problem+json errors of bad bodies, 413s and 422s.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ComputePool } from '../../src/compute/service.js';
import { testApp } from '../helpers/app.js';

let off: FastifyInstance; // everything in the pool
let on: FastifyInstance; // everything on the event loop
// every task computes in the pool in both apps (one kernel backend), so that only the offload differs
const env = { UNROLL_MAX_PARAMS: '5000', UNROLL_MAX_COMPUTE_COST: '50000000', UNROLL_INLINE_COST: '0' };

beforeAll(async () => {
  [off, on] = await Promise.all([
    testApp({ poolThreads: 1, env: { ...env, UNROLL_OFFLOAD_BYTES: '0' } }),
    testApp({ poolThreads: 1, env: { ...env, UNROLL_OFFLOAD_BYTES: 'Infinity' } }),
  ]);
  for (const app of [off, on])
    for (const name of ['m', 'all']) {
      const config = { inputSize: 3, hiddenSize: 4, outputSize: 2, ...(name === 'all' ? { readout: 'all' } : {}) };
      const r = await app.inject({ method: 'POST', url: '/v1/models', payload: { name, config, init: { seed: 3 } } });
      expect(r.statusCode, r.body).toBe(201);
    }
});
afterAll(async () => {
  await Promise.all([off?.close(), on?.close()]);
});

const poolOf = (app: FastifyInstance) => (app.services.compute as unknown as { pool: ComputePool }).pool;

const send = (app: FastifyInstance, url: string, payload: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload });

/** The same request to both apps: the same answer, byte for byte; the offloading app did use its pool. */
async function same(url: string, body: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  const call = vi.spyOn(poolOf(off), 'call');
  const [a, b] = await Promise.all([send(off, url, payload, headers), send(on, url, payload, headers)]);
  expect(call).toHaveBeenCalled();
  call.mockRestore();
  expect(a.statusCode, a.body).toBe(b.statusCode);
  expect(a.headers['content-type']).toBe(b.headers['content-type']);
  expect(a.headers['retry-after']).toBe(b.headers['retry-after']);
  expect(a.body).toBe(b.body);
  expect(a.rawPayload.equals(b.rawPayload)).toBe(true);
  return a;
}

const config = { inputSize: 3, hiddenSize: 4, outputSize: 2 };
const model = { config, init: { seed: 7 } };
const x = [
  [
    [0.1, -0.2, 0.3],
    [0.5, 0.25, -1],
    [2, -0.5, 0.75],
  ],
  [
    [-0.1, 0.2, 0.3],
    [1.5, -0.25, 1],
    [0.2, 0.5, -0.75],
  ],
];
const h0 = [
  [0.1, 0.2, 0.3, 0.4],
  [-0.1, 0, 0.5, 1],
];

/** Every subset of xs, in a fixed order. */
function subsets<T>(xs: readonly T[]): T[][] {
  const out: T[][] = [[]];
  for (const v of xs) for (const s of out.slice()) out.push([...s, v]);
  return out;
}

describe('answers are the same bytes whether encoded in a worker or by the route', () => {
  it.each(subsets(['h', 'logits']).map((s) => [s]))('forward, include %j, inline and stored', async (include) => {
    for (const [url, m] of [
      ['/v1/forward', { model }],
      ['/v1/models/m/forward', {}],
    ] as const) {
      const r = await same(url, { ...m, x, h0, include });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    }
  });

  it.each(subsets(['h', 'logits', 'dh', 'dx', 'dh0']).map((s) => [s]))('bptt, include %j', async (include) => {
    const r = await same('/v1/bptt', { model, x, targets: [1, 0], include });
    expect(r.statusCode).toBe(200);
    expect(Object.keys(r.json())).toEqual(expect.arrayContaining(['loss', 'grads', ...include]));
  });

  it('bptt truncated, with h0, readout all, on a stored model', async () => {
    await same('/v1/bptt', { model, x, h0, targets: [0, 1], truncate: 2, include: ['dh', 'dh0'] });
    await same('/v1/models/all/bptt', {
      x,
      targets: [
        [0, 1, 1],
        [1, 0, 0],
      ],
      include: ['logits', 'dx'],
    });
    await same('/v1/models/all/forward', { x, include: ['logits'] });
  });

  it.each([[['U.weight']], [['W.weight']], [['W.bias']], [['U.weight', 'W.weight', 'W.bias']]])(
    'jacobian wrt %j',
    async (wrt) => {
      expect((await same('/v1/jacobian', { model, x, wrt })).statusCode).toBe(200);
      await same('/v1/models/m/jacobian', { x, h0, wrt });
    },
  );

  it('gradcheck', async () => {
    expect((await same('/v1/gradcheck', { model, x: [x[0]], targets: [1] })).json().ok).toBe(true);
    await same('/v1/models/m/gradcheck', { x: [x[0]], targets: [0], eps: 1e-5 });
  });

  it('a non-finite result is the same 422', async () => {
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
    expect((await same('/v1/forward', blowup)).statusCode).toBe(422);
    expect((await same('/v1/bptt', { ...blowup, targets: [0] })).statusCode).toBe(422);
    await same('/v1/jacobian', { ...blowup, wrt: ['W.weight'] });
  });

  it('a task computed in the pool is encoded by its compute thread, not sent back as numbers to the codec', async () => {
    const pool = poolOf(off) as Required<ComputePool>;
    const fused = vi.spyOn(pool, 'runEncoded');
    const call = vi.spyOn(pool, 'call');
    const payload = JSON.stringify({ model, x, targets: [0, 1], include: ['h', 'dh'] });
    const [a, b] = await Promise.all([send(off, '/v1/bptt', payload), send(on, '/v1/bptt', payload)]);
    expect(a.statusCode, a.body).toBe(200);
    expect(a.rawPayload.equals(b.rawPayload)).toBe(true);
    expect(fused).toHaveBeenCalledTimes(1);
    // the codec thread decoded the body and encoded nothing
    expect(call.mock.calls.map(([job]) => job.kind)).toEqual(['decode']);
    fused.mockRestore();
    call.mockRestore();
  });
});

describe('bad bodies get the same problem+json, parsed in a worker or on the event loop', () => {
  const good = { model, x, targets: [1, 0] };
  const bad: [string, unknown][] = [
    ['not JSON', '{"model": {"config": '],
    ['not an object', '[1, 2, 3]'],
    ['__proto__ (prototype poisoning)', `{"__proto__": {"admin": true}, "model": ${JSON.stringify(model)}}`],
    ['constructor.prototype', `{"constructor": {"prototype": {"admin": true}}, "x": [[[1]]]}`],
    ['a stray key', { ...good, extra: 1 }],
    ['config at the top', { config, init: { seed: 1 }, x, targets: [0, 0] }],
    ['x of rank 2', { ...good, x: x[0] }],
    ['ragged x', { ...good, x: [x[0], x[1].slice(1)] }],
    ['a string in x', { ...good, x: [[[0, 'a', 1]]], targets: [0] }],
    ['x of the wrong width', { ...good, x: [[[1, 2]]], targets: [0] }],
    ['a target out of range', { ...good, targets: [2, 0] }],
    ['h0 of the wrong shape', { ...good, h0: [[1, 2]] }],
    ['an unknown include', { ...good, include: ['dW'] }],
    ['weights of the wrong shape', { ...good, model: { config, weights: { 'U.weight': [[1]] } } }],
    [
      'a model above UNROLL_MAX_PARAMS',
      { ...good, model: { config: { ...config, hiddenSize: 100 }, init: { seed: 1 } } },
    ],
    [
      'a cost above UNROLL_MAX_COMPUTE_COST',
      { ...good, x: [Array.from({ length: 30000 }, () => [1, 2, 3])], targets: [0] },
    ],
  ];

  it.each(bad)('%s (/v1/bptt)', async (_name, body) => {
    const r = await same('/v1/bptt', body);
    expect(r.statusCode).toBeGreaterThanOrEqual(400);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it.each(bad)('%s (/v1/models/m/bptt, the body without its model)', async (_name, body) => {
    const stored =
      typeof body === 'object' && body !== null
        ? Object.fromEntries(Object.entries(body).filter(([k]) => k !== 'model'))
        : body;
    // (without its model, a body whose only fault was the model is a 200: the same 200)
    await same('/v1/models/m/bptt', stored);
  });

  it('a bad body for a model that does not exist is a 400, a good one a 404, as inline', async () => {
    expect((await same('/v1/models/nobody/forward', { x: [[1]] })).statusCode).toBe(400);
    expect((await same('/v1/models/nobody/forward', { x })).statusCode).toBe(404);
  });

  it('the other routes of the models plugin still parse JSON as before', async () => {
    const r = await send(off, '/v1/models', '{"name": "p", "config": ');
    expect(r.statusCode).toBe(400);
    expect(r.json().type).toBe('/problems/malformed-json');
  });
});
