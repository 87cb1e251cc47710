// The teaching trace: Exercise 3's Wengert list for a scalar network, adjoints that are BPTT's and the
// Jacobian's gradients, Graphviz DOT, and the size limits.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';
import { flat, maxRelErr } from '../helpers/oracle.js';

let app: FastifyInstance;
beforeAll(async () => {
  app = await testApp();
});
afterAll(() => app.close());

const post = (payload: object) => app.inject({ method: 'POST', url: '/v1/trace', payload });
const U = 0.5;
const W = 0.8;
const scalar = {
  config: { inputSize: 1, hiddenSize: 1, outputSize: 2 },
  weights: { 'U.weight': [[U]], 'W.weight': [[W]], 'W.bias': [0], 'V.weight': [[1], [-1]], 'V.bias': [0, 0] },
};
const x0 = 0.7;
const x1 = -1.3;

describe('POST /v1/trace on a scalar network', () => {
  it('writes the unrolled computation as Exercise 3 does, one node per scalar operation', async () => {
    const r = await post({ model: scalar, x: [[[x0], [x1]]], seed: { output: 'h', t: 1 } });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.nodes.map((n: { expr: string }) => n.expr)).toEqual([
      'w_1 = x_0',
      'w_2 = U',
      'w_3 = w_1·w_2 = a_0',
      'w_4 = tanh(w_3) = h_0',
      'w_5 = x_1',
      'w_6 = w_2·w_5',
      'w_7 = W',
      'w_8 = w_4·w_7',
      'w_9 = w_6 + w_8 = a_1',
      'w_10 = tanh(w_9) = h_1',
    ]);
    expect(body.output).toBe('w_10');
    expect(body.nodes[9]).toMatchObject({ op: 'tanh', inputs: ['w_9'], name: 'h_1', adjoint: 1 });
  });

  it('the adjoint of U is the sheet’s dh_1/dU = (1 − h_1²)(x_1 + W(1 − h_0²)x_0)', async () => {
    const body = (await post({ model: scalar, x: [[[x0], [x1]]], seed: { output: 'h', t: 1 } })).json();
    const h0 = Math.tanh(U * x0);
    const h1 = Math.tanh(U * x1 + W * h0);
    const sheet = (1 - h1 * h1) * (x1 + W * (1 - h0 * h0) * x0);
    const uNode = body.nodes.find((n: { name?: string }) => n.name === 'U');
    expect(Math.abs(uNode.adjoint - sheet)).toBeLessThan(1e-15);
    expect(body.grads['U.weight'][0][0]).toBe(uNode.adjoint);
    expect(body.value).toBeCloseTo(h1, 15);
    // the first step alone: w̄_2 = (1 − h_0²) x_0, the sheet's "dU" for h_0
    const first = (await post({ model: scalar, x: [[[x0], [x1]]], seed: { output: 'h', t: 0 } })).json();
    expect(first.nodes).toHaveLength(4);
    expect(first.nodes[1].adjoint).toBeCloseTo((1 - h0 * h0) * x0, 15);
  });

  it('gives the same graph in Graphviz DOT', async () => {
    const body = (await post({ model: scalar, x: [[[x0], [x1]]] })).json();
    const dot: string = body.dot;
    expect(dot.startsWith('digraph unrolled {')).toBe(true);
    expect(dot.trimEnd().endsWith('}')).toBe(true);
    for (const n of body.nodes) expect(dot).toContain(`${n.id} [`);
    expect(dot.match(/ -> /g)).toHaveLength(
      body.nodes.reduce((s: number, n: { inputs: string[] }) => s + n.inputs.length, 0),
    );
    expect(dot).toMatch(
      /w_10 \[shape=box, peripheries=2, label="w_10 = tanh\(w_9\) = h_1\\nvalue [-\d.e]+\\nadjoint 1"\]/,
    );
  });
});

describe('POST /v1/trace adjoints are the service’s gradients', () => {
  const model = {
    config: { inputSize: 2, hiddenSize: 3, outputSize: 2, readout: 'all' },
    init: { seed: 5 },
  };
  const x = [
    [
      [0.5, -1],
      [0.2, 0.3],
      [1.1, -0.4],
    ],
    [
      [-0.6, 0.9],
      [0.4, 0.1],
      [-1.2, 0.8],
    ],
  ];
  const h0 = [
    [0.1, -0.2, 0.3],
    [0, 0.5, -0.5],
  ];
  const targets = [
    [0, 1, 1],
    [1, 0, 1],
  ];

  it.each(['tanh', 'relu'])(
    'seeded at the loss (%s): every weight’s adjoint is BPTT’s gradient',
    async (activation) => {
      const m = { ...model, config: { ...model.config, activation } };
      const t = (await post({ model: m, x, h0, targets, seed: { output: 'loss' } })).json();
      const b = (await app.inject({ method: 'POST', url: '/v1/bptt', payload: { model: m, x, h0, targets } })).json();
      expect(t.value).toBeCloseTo(b.loss, 12);
      for (const k of Object.keys(b.grads)) expect(maxRelErr(flat(t.grads[k]), flat(b.grads[k])), k).toBeLessThan(1e-9);
      expect(t.nodes.at(-1)).toMatchObject({ op: 'mean', name: 'loss' });
    },
  );

  it('seeded at h_t[b, i]: the adjoints of U and W are the Jacobian’s dh_t[b, i]/dθ', async () => {
    const t = (await post({ model, x, h0, seed: { output: 'h', b: 1, t: 2, i: 2 } })).json();
    const j = (
      await app.inject({
        method: 'POST',
        url: '/v1/jacobian',
        payload: { model, x, h0, wrt: ['U.weight', 'W.weight'] },
      })
    ).json();
    for (const k of ['U.weight', 'W.weight'])
      expect(maxRelErr(flat(t.grads[k]), flat(j.jacobian[k][1][2][2])), k).toBeLessThan(1e-9);
    expect(t.nodes.some((n: { name?: string }) => n.name === 'h_-1[1,0]')).toBe(true);
  });
});

describe('POST /v1/trace limits', () => {
  const tiny = { config: { inputSize: 1, hiddenSize: 1, outputSize: 2 }, init: { seed: 1 } };
  it.each([
    [
      'hiddenSize 5',
      { model: { ...tiny, config: { ...tiny.config, hiddenSize: 5 } }, x: [[[1]]] },
      ['model', 'config', 'hiddenSize'],
    ],
    ['T = 7', { model: tiny, x: [Array.from({ length: 7 }, () => [1])] }, ['x']],
    ['B = 5', { model: tiny, x: Array.from({ length: 5 }, () => [[1]]) }, ['x']],
    ['a loss seed without targets', { model: tiny, x: [[[1]]], seed: { output: 'loss' } }, ['targets']],
    ['a step past T', { model: tiny, x: [[[1]]], seed: { output: 'h', t: 1 } }, ['seed', 't']],
  ])('400 for %s, naming the path', async (_, body, path) => {
    const r = await post(body);
    expect(r.statusCode).toBe(400);
    expect(r.headers['content-type']).toContain('application/problem+json');
    expect(r.json().issues.map((i: { path: unknown }) => i.path)).toContainEqual(path);
  });

  it('422 naming the node when a value overflows', async () => {
    const huge = {
      config: { inputSize: 1, hiddenSize: 1, outputSize: 2, activation: 'relu' },
      weights: {
        'U.weight': [[1e300]],
        'W.weight': [[1e300]],
        'W.bias': [0],
        'V.weight': [[1], [1]],
        'V.bias': [0, 0],
      },
    };
    const r = await post({ model: huge, x: [[[1e300]]] });
    expect(r.statusCode).toBe(422);
    expect(r.json().issues[0].path).toEqual(['trace', 3]);
  });

  it('the largest trace (every size 4, T = 6, at the loss) is answered', async () => {
    const big = { config: { inputSize: 4, hiddenSize: 4, outputSize: 4, readout: 'all' }, init: { seed: 2 } };
    const x = Array.from({ length: 4 }, () => Array.from({ length: 6 }, () => [0.1, -0.2, 0.3, 0.4]));
    const targets = Array.from({ length: 4 }, () => [0, 1, 2, 3, 0, 1]);
    const r = await post({ model: big, x, targets, seed: { output: 'loss' } });
    expect(r.statusCode).toBe(200);
    expect(r.json().nodes.length).toBeGreaterThan(1000);
  });
});
