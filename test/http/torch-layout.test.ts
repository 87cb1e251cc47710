// torch.nn.RNN + nn.Linear state_dicts (made by scripts/make-torch-rnn-fixtures.py with PyTorch) are accepted
// wherever weights are, agree with PyTorch's own outputs, and read back in that layout without renaming.
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';
import { gradingClient, TEACHER } from '../helpers/grading-http.js';

interface Fixture {
  config: Record<string, unknown>;
  state_dict: Record<string, unknown>;
  x: number[][][];
  expected?: { y: number[][]; hT: number[][] };
}
const fixture = (name: string): Fixture =>
  JSON.parse(readFileSync(new URL(`../fixtures/torch-rnn/${name}.json`, import.meta.url), 'utf8'));

let app: FastifyInstance;
beforeAll(async () => {
  app = await testApp({ env: { UNROLL_INSTRUCTOR_TOKENS: TEACHER, UNROLL_RUNS_CONCURRENCY: '1' } });
});
afterAll(() => app.close());

const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload });
const maxDiff = (a: unknown, b: unknown): number =>
  Array.isArray(a)
    ? Math.max(...a.map((v, i) => maxDiff(v, (b as unknown[])[i])))
    : Math.abs((a as number) - (b as number));
/** Keys renamed: prefix `rnn.` → `p`, `fc.` → `h`. */
const renamed = (sd: Record<string, unknown>, rnn: string, head: string) =>
  Object.fromEntries(Object.entries(sd).map(([k, v]) => [k.replace(/^rnn\./, rnn).replace(/^fc\./, head), v] as const));

describe('weights in torch.nn.RNN layout', () => {
  it.each(['tanh', 'relu-all', 'no-bias'])('%s: inline, the numbers PyTorch computed', async (name) => {
    const f = fixture(name);
    const r = await post('/v1/forward', { model: { config: f.config, weights: f.state_dict }, x: f.x });
    expect(r.statusCode, r.body).toBe(200);
    expect(maxDiff(r.json().y, f.expected!.y)).toBeLessThan(1e-12);
    expect(maxDiff(r.json().hT, f.expected!.hT)).toBeLessThan(1e-12);
  });

  it('with or without module prefixes, any head name', async () => {
    const f = fixture('tanh');
    for (const [rnn, head] of [
      ['', 'linear.'],
      ['encoder.rnn.', 'V.'],
      ['model.cell.', 'classifier.0.'],
    ]) {
      const r = await post('/v1/forward', {
        model: { config: f.config, weights: renamed(f.state_dict, rnn, head) },
        x: f.x,
      });
      expect(r.statusCode, `${rnn} ${head}: ${r.body}`).toBe(200);
      expect(maxDiff(r.json().y, f.expected!.y)).toBeLessThan(1e-12);
    }
  });

  it('nonlinearity stands for activation; the two may not disagree', async () => {
    const f = fixture('relu-all');
    const stored = await post('/v1/models', { config: f.config, weights: f.state_dict });
    expect(stored.statusCode, stored.body).toBe(201);
    expect(stored.json().config).toEqual({
      inputSize: 3,
      hiddenSize: 5,
      outputSize: 2,
      activation: 'relu',
      readout: 'all',
    });
    const bad = await post('/v1/forward', {
      model: { config: { ...f.config, activation: 'tanh' }, weights: f.state_dict },
      x: f.x,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues[0]).toEqual({
      path: ['model', 'config', 'nonlinearity'],
      message: 'nonlinearity "relu" and activation "tanh" disagree: give one of them',
    });
  });

  it('stored, replaced by PUT, and read back with ?layout=torch.nn.RNN under the same keys', async () => {
    const f = fixture('tanh');
    const created = await post('/v1/models', { name: 'torchy', config: f.config, init: { seed: 3 } });
    expect(created.statusCode, created.body).toBe(201);
    const put = await app.inject({ method: 'PUT', url: '/v1/models/torchy/weights', payload: f.state_dict });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json().version).toBe(2);
    const fwd = await post('/v1/models/torchy/forward', { x: f.x });
    expect(maxDiff(fwd.json().y, f.expected!.y)).toBeLessThan(1e-12);

    const back = (await app.inject({ url: '/v1/models/torchy?layout=torch.nn.RNN' })).json().weights;
    expect(Object.keys(back)).toEqual(Object.keys(f.state_dict));
    const sd = f.state_dict as Record<string, unknown>;
    const bias = (k: string) => sd[k] as number[];
    expect(back['rnn.weight_ih_l0']).toEqual(sd['rnn.weight_ih_l0']);
    expect(back['fc.weight']).toEqual(sd['fc.weight']);
    // the two biases are stored as their sum; read back, bias_ih carries it and bias_hh is zeros
    const sum = bias('rnn.bias_ih_l0').map((v, i) => v + bias('rnn.bias_hh_l0')[i]);
    expect(back['rnn.bias_ih_l0']).toEqual(sum);
    expect(back['rnn.bias_hh_l0']).toEqual(sum.map(() => 0));
    // read back, sent again: the same numbers
    const again = await app.inject({ method: 'PUT', url: '/v1/models/torchy/weights', payload: back });
    expect(again.statusCode, again.body).toBe(200);
    const fwd2 = await post('/v1/models/torchy/forward', { x: f.x });
    expect(fwd2.json().y).toEqual(fwd.json().y);

    const named = (await app.inject({ url: '/v1/models/torchy?layout=torch.nn.RNN&rnn=&head=out' })).json().weights;
    expect(Object.keys(named)).toEqual([
      'weight_ih_l0',
      'weight_hh_l0',
      'bias_ih_l0',
      'bias_hh_l0',
      'out.weight',
      'out.bias',
    ]);
    const plain = (await app.inject({ url: '/v1/models/torchy' })).json().weights;
    expect(Object.keys(plain)).toEqual(['U.weight', 'W.weight', 'W.bias', 'V.weight', 'V.bias']);
  });

  it('a run trains from a torch.nn.RNN state_dict', async () => {
    const f = fixture('tanh');
    const r = await post('/v1/runs', {
      model: { config: f.config, weights: f.state_dict },
      data: { x: f.x, targets: [0, 1, 2] },
      steps: 3,
    });
    expect(r.statusCode, r.body).toBe(202);
  });

  it("a grading problem's weights read back in torch.nn.RNN layout", async () => {
    const g = gradingClient(app);
    const a = await g.create({ preset: 'sheet-ex2' });
    expect(a.statusCode, a.body).toBe(201);
    const p = await g.get(`/v1/assignments/${a.json().id}/problems/alice?layout=torch.nn.RNN`);
    expect(p.statusCode, p.body).toBe(200);
    expect(Object.keys(p.json().problem.model.weights)).toEqual([
      'rnn.weight_ih_l0',
      'rnn.weight_hh_l0',
      'rnn.bias_ih_l0',
      'rnn.bias_hh_l0',
      'fc.weight',
      'fc.bias',
    ]);
  });

  it.each([
    ['two-layers', 'rnn.weight_ih_l1', /multi-layer nn\.RNN \(num_layers > 1\) is not supported/],
    ['bidirectional', 'rnn.weight_ih_l0_reverse', /bidirectional nn\.RNN is not supported/],
  ])('%s is a 400 naming the key that makes it unsupported', async (name, key, message) => {
    const f = fixture(name);
    const r = await post('/v1/forward', { model: { config: f.config, weights: f.state_dict }, x: f.x });
    expect(r.statusCode).toBe(400);
    expect(r.json().issues[0].path).toEqual(['model', 'weights', key]);
    expect(r.json().issues[0].message).toMatch(message);
    expect(r.json().detail).toContain(key);
  });

  it('a projection, a missing head, a missing bias, a wrong shape: each named by its key', async () => {
    const f = fixture('tanh');
    const sd = f.state_dict;
    const cases: [Record<string, unknown>, (string | number)[], RegExp][] = [
      [{ ...sd, 'rnn.weight_hr_l0': [[1]] }, ['rnn.weight_hr_l0'], /projected RNN \(proj_size > 0\) is not supported/],
      [
        Object.fromEntries(Object.entries(sd).filter(([k]) => !k.startsWith('fc.'))),
        ['fc.weight'],
        /the nn\.Linear head is missing/,
      ],
      [
        Object.fromEntries(Object.entries(sd).filter(([k]) => k !== 'rnn.bias_hh_l0')),
        ['rnn.bias_hh_l0'],
        /rnn\.bias_hh_l0 is missing/,
      ],
      [
        { ...sd, 'rnn.weight_ih_l0': [[1, 2]] },
        ['rnn.weight_ih_l0'],
        /^rnn\.weight_ih_l0 is \(1, 2\); expected \(H, d\) with H = 6, d = 4$/,
      ],
    ];
    for (const [weights, path, message] of cases) {
      const r = await post('/v1/forward', { model: { config: f.config, weights }, x: f.x });
      expect(r.statusCode, JSON.stringify(path)).toBe(400);
      expect(r.json().issues[0].path).toEqual(['model', 'weights', ...path]);
      expect(r.json().issues[0].message).toMatch(message);
    }
  });
});

describe('shape errors say what was received and what was expected', () => {
  const model = { config: { inputSize: 7, hiddenSize: 3, outputSize: 2 }, init: { seed: 1 } };
  const scalar = { config: { inputSize: 1, hiddenSize: 3, outputSize: 2 }, init: { seed: 1 } };
  const row = [1, 2, 3, 4, 5, 6, 7];
  const first = async (url: string, body: object) => {
    const r = await post(url, body);
    expect(r.statusCode, r.body).toBe(400);
    return r.json().issues[0] as { path: (string | number)[]; message: string };
  };

  it.each([
    [
      'x of (T, d): the batch axis missing',
      { model, x: Array.from({ length: 13 }, () => row) },
      ['x', 0, 0],
      'x is (13, 7); expected (B, T, d) with d = 7: is the batch axis missing?',
    ],
    [
      'a flat x',
      { model, x: row },
      ['x', 0],
      'x is (7); expected (B, T, d) with d = 7: is this one x_t? a batch of one sequence of one step is [[x_0]]',
    ],
    [
      '(B, T) for d = 1',
      { model: scalar, x: [[1, 2, 3]] },
      ['x', 0, 0],
      'x is (1, 3); expected (B, T, d) with d = 1: with d = 1 each x_t is still a list, [[[x_0], [x_1], …]]: is the last axis missing?',
    ],
    ['x of the wrong width', { model, x: [[[1, 2]]] }, ['x'], 'x is (1, 1, 2); expected (B, T, d) with d = 7'],
    [
      'h0 without the batch axis',
      { model, x: [[row]], h0: [0, 0, 0] },
      ['h0', 0],
      'h0 is (3); expected (B, H): is the batch axis missing?',
    ],
    [
      'h0 of the wrong size',
      { model, x: [[row]], h0: [[0, 0]] },
      ['h0'],
      'h0 is (1, 2); expected (B, H) with B = 1 (as x) and H = 3',
    ],
    [
      'weights without config',
      {
        model: {
          weights: { 'U.weight': [[1]], 'W.weight': [[1]], 'W.bias': [1], 'V.weight': [[1], [2]], 'V.bias': [1, 2] },
        },
        x: [[[1]]],
      },
      ['model', 'config'],
      'config is missing: weights need their config {"inputSize": d, "hiddenSize": H, "outputSize": C}; these weights fit {"inputSize":1,"hiddenSize":1,"outputSize":2}',
    ],
    [
      'a missing weight, with a misspelling nearby',
      {
        model: {
          config: { inputSize: 1, hiddenSize: 1, outputSize: 1 },
          weights: { 'U.weight': [[1]], 'W.weight': [[1]], 'W.bias': [1], 'V.weight': [[1]], 'V.bais': [1] },
        },
        x: [[[1]]],
      },
      ['model', 'weights', 'V.bias'],
      'V.bias is missing; expected (C) (is "V.bais" a misspelling of it?)',
    ],
    [
      'a transposed weight',
      {
        model: {
          config: { inputSize: 2, hiddenSize: 1, outputSize: 1 },
          weights: { 'U.weight': [[1], [2]], 'W.weight': [[1]], 'W.bias': [1], 'V.weight': [[1]], 'V.bias': [1] },
        },
        x: [[[1, 2]]],
      },
      ['model', 'weights', 'U.weight'],
      'U.weight is (2, 1); expected (H, d) with H = 1, d = 2: is it transposed?',
    ],
    [
      'config and weights outside model',
      { config: model.config, weights: {}, x: [[row]] },
      ['model'],
      'model is missing: config and weights (or init) go inside it, {"model": {"config", "weights"}, "x"}',
    ],
    [
      'both weights and init',
      { model: { ...model, weights: {} }, x: [[row]] },
      ['model'],
      'give exactly one of weights or init',
    ],
  ])('%s', async (_name, body, path, message) => {
    expect(await first('/v1/forward', body)).toEqual({ path, message });
  });

  it('targets of the wrong shape', async () => {
    expect(await first('/v1/bptt', { model, x: [[row]], targets: [0, 1] })).toEqual({
      path: ['targets'],
      message: 'targets is (2); expected (B) with B = 1 for readout "last": one class index per sequence',
    });
  });

  it('on a stored model, without its config at hand, the question covers both readings', async () => {
    await post('/v1/models', { name: 'wide', ...model });
    expect(await first('/v1/models/wide/forward', { x: [row] })).toEqual({
      path: ['x', 0, 0],
      message: 'x is (1, 7); expected (B, T, d): is the batch axis missing (or, when d = 1, the last one)?',
    });
    expect(await first('/v1/models/wide/forward', { x: [[[1, 2]]] })).toEqual({
      path: ['x'],
      message: 'x is (1, 1, 2); expected (B, T, d) with d = 7',
    });
  });

  it('PUT weights: the body is the state_dict itself, and a wrapped one is told so', async () => {
    await post('/v1/models', { name: 'put-me', ...model });
    const r = await app.inject({ method: 'PUT', url: '/v1/models/put-me/weights', payload: { weights: {} } });
    expect(r.statusCode).toBe(400);
    expect(r.json().issues[0]).toEqual({
      path: ['weights'],
      message:
        'unrecognized key "weights": this body is the state_dict itself, {"U.weight": …, …}, not {"config", "weights"}',
    });
  });
});
