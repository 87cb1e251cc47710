// GET /v1/stream through injectWS: per-timestep frames that agree with REST, a result frame that is the
// REST body, several ops on one socket, bad frames answered without closing, the per-socket cap, cancel.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamFrame } from '../../src/schemas/stream.js';
import { testApp } from '../helpers/app.js';
import { type Frame, injectFrames } from '../helpers/ws.js';

const model = { config: { inputSize: 3, hiddenSize: 4, outputSize: 2 }, init: { seed: 7 } };
const x = [
  [
    [0.5, -1, 2],
    [1, 0.25, -0.5],
    [-2, 1, 0],
    [0.1, 0.2, 0.3],
  ],
  [
    [1, 1, 1],
    [0, -1, 0.5],
    [0.3, 0.3, -0.3],
    [2, -2, 1],
  ],
];
const T = x[0].length;
const bptt = { op: 'bptt', model, x, targets: [1, 0], include: ['dh', 'h'] };

let app: FastifyInstance;
beforeAll(async () => {
  app = await testApp({ env: { UNROLL_STREAM_MAX_OPS: '2' } });
  await app.ready();
});
afterAll(() => app.close());

const rest = async (url: string, body: object) => {
  const { op: _op, id: _id, ...payload } = body as { op: string; id?: string };
  const r = await app.inject({ method: 'POST', url, payload });
  expect(r.statusCode).toBe(200);
  return r.json();
};
const withoutTags = ({ event: _e, id: _i, ...body }: Frame) => body;

describe('GET /v1/stream', () => {
  it('streams forward_step for each t, then a result equal to the REST response', async () => {
    const f = await injectFrames(app, '/v1/stream');
    const op = { op: 'forward', id: 'f1', model, x, include: ['logits'] };
    f.send(op);
    const truth = await rest('/v1/forward', op);
    const { h } = await rest('/v1/forward', { ...op, include: ['h'] });
    for (let t = 0; t < T; t++) {
      const s = await f.next();
      expect(StreamFrame.parse(s).event).toBe('forward_step');
      expect(s).toMatchObject({ id: 'f1', t });
      expect(s.h).toEqual(h.map((seq: number[][]) => seq[t]));
    }
    const result = await f.next();
    expect(result).toMatchObject({ event: 'result', id: 'f1' });
    expect(withoutTags(result)).toEqual(truth);
    f.ws.close();
  });

  it('streams bptt: forward steps, backward steps from T−1 down to 0 with dh and its norm, then the result', async () => {
    const f = await injectFrames(app, '/v1/stream');
    f.send({ ...bptt, id: 'b1' });
    const truth = await rest('/v1/bptt', bptt);
    for (let t = 0; t < T; t++) expect(await f.next()).toMatchObject({ event: 'forward_step', t });
    for (let t = T - 1; t >= 0; t--) {
      const s = await f.next();
      expect(s).toMatchObject({ event: 'backward_step', id: 'b1', t });
      const dh = truth.dh.map((seq: number[][]) => seq[t]);
      expect(s.dh).toEqual(dh);
      expect(s.dhNorm).toBeCloseTo(Math.hypot(...dh.flat()), 12);
    }
    expect(withoutTags(await f.next())).toEqual(truth);
    f.ws.close();
  });

  it('carries several operations at once, each under its own id', async () => {
    const f = await injectFrames(app, '/v1/stream');
    f.send({ ...bptt, id: 'A' });
    f.send({ op: 'forward', id: 'B', model, x });
    const results = [await f.next((m) => m.event === 'result'), await f.next((m) => m.event === 'result')];
    expect(results.map((r) => r.id).sort()).toEqual(['A', 'B']);
    for (const id of ['A', 'B']) {
      const mine = f.all.filter((m) => m.id === id);
      expect(mine.filter((m) => m.event === 'forward_step').map((m) => m.t)).toEqual([0, 1, 2, 3]);
      expect(mine.at(-1)?.event).toBe('result');
    }
    expect(f.all.filter((m) => m.id === 'A' && m.event === 'backward_step').map((m) => m.t)).toEqual([3, 2, 1, 0]);
    f.ws.close();
  });

  it('answers a malformed or invalid frame with an error frame and keeps the socket open', async () => {
    const f = await injectFrames(app, '/v1/stream');
    f.send('{"op": "forward", ');
    expect(await f.next()).toMatchObject({ event: 'error', type: '/problems/malformed-json', status: 400 });
    f.send({ op: 'forward', id: 'bad', model, x: [[[1, 2, 3]], [[1, 'two', 3]]] });
    const bad = await f.next();
    expect(StreamFrame.parse(bad).event).toBe('error');
    expect(bad).toMatchObject({ id: 'bad', status: 400, issues: [{ path: ['x', 1, 0, 1] }] });
    f.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await f.next()).toMatchObject({ event: 'error', status: 415 });
    f.send({ op: 'transpose', id: 'what' });
    expect(await f.next()).toMatchObject({ event: 'error', id: 'what', issues: [{ path: ['op'] }] });
    f.send({ op: 'forward', id: 'ok', model, x });
    expect(await f.next((m) => m.event === 'result')).toMatchObject({ id: 'ok' });
    expect(f.closed).toBeNull();
    f.ws.close();
  });

  it('runs on a stored model by modelId, and answers an unknown one with 404', async () => {
    const created = await app.inject({ method: 'POST', url: '/v1/models', payload: model });
    const f = await injectFrames(app, '/v1/stream');
    f.send({ op: 'forward', id: 's', modelId: created.json().id, x });
    const truth = await rest('/v1/forward', { model, x });
    expect(withoutTags(await f.next((m) => m.event === 'result'))).toEqual(truth);
    f.send({ op: 'forward', id: 'missing', modelId: 'no-such-model', x });
    expect(await f.next((m) => m.id === 'missing')).toMatchObject({ event: 'error', status: 404 });
    f.ws.close();
  });

  it('refuses an id already in flight and more ops than UNROLL_STREAM_MAX_OPS, with error frames', async () => {
    const f = await injectFrames(app, '/v1/stream');
    // three frames in one message burst: handled in one tick, before the first op can finish
    f.send({ ...bptt, id: 'x1' });
    f.send({ ...bptt, id: 'x1' });
    f.send({ ...bptt, id: 'x2' });
    f.send({ ...bptt, id: 'x3' });
    const conflict = await f.next((m) => m.event === 'error');
    expect(conflict).toMatchObject({ id: 'x1', status: 409 });
    expect(await f.next((m) => m.event === 'error')).toMatchObject({ id: 'x3', status: 429 });
    await f.next((m) => m.event === 'result' && m.id === 'x2');
    f.ws.close();
  });
});

describe('GET /v1/stream with the worker pool', () => {
  let pooled: FastifyInstance;
  beforeAll(async () => {
    // every op goes to the pool, so an op is in flight for a while
    pooled = await testApp({ poolThreads: 1, env: { UNROLL_INLINE_COST: '0' } });
    await pooled.ready();
  });
  afterAll(() => pooled.close());

  it('cancel stops an op: an error frame of type cancelled, no result, and the pool task is aborted', async () => {
    const signals: AbortSignal[] = [];
    const compute = pooled.services.compute;
    const run = compute.run.bind(compute);
    compute.run = ((task, signal) => {
      if (signal) signals.push(signal);
      return run(task, signal);
    }) as typeof compute.run;
    const f = await injectFrames(pooled, '/v1/stream');
    f.send({ ...bptt, id: 'c' });
    f.send({ op: 'cancel', id: 'c' });
    const end = await f.next((m) => m.event === 'error' || m.event === 'result');
    expect(end).toMatchObject({ event: 'error', id: 'c', type: '/problems/cancelled', status: 499 });
    expect(signals[0]?.aborted).toBe(true);
    // the socket and the pool still work
    f.send({ ...bptt, id: 'after' });
    expect(await f.next((m) => m.event === 'result')).toMatchObject({ id: 'after' });
    // closing the socket aborts what is in flight
    const before = signals.length;
    f.send({ ...bptt, id: 'orphan' });
    f.ws.terminate();
    await expect.poll(() => signals.length).toBe(before + 1);
    await expect.poll(() => signals.at(-1)?.aborted).toBe(true);
    compute.run = run;
  });
});

describe('GET /v1/stream limits and auth', () => {
  it('closes the socket with 1009 when a frame exceeds UNROLL_WS_MAX_PAYLOAD', async () => {
    const small = await testApp({ env: { UNROLL_WS_MAX_PAYLOAD: '1024' } });
    await small.ready();
    const f = await injectFrames(small, '/v1/stream');
    f.send({ op: 'forward', id: 'big', model, x: [Array.from({ length: 200 }, () => [1, 2, 3])] });
    await f.untilClosed();
    expect(f.closed?.code).toBe(1009);
    await small.close();
  });

  it('needs a token when UNROLL_API_TOKENS is set (header or ?access_token=), and says 426 to plain GET', async () => {
    const locked = await testApp({ env: { UNROLL_API_TOKENS: 'sesame' } });
    await locked.ready();
    await expect(locked.injectWS('/v1/stream')).rejects.toThrow(/401/);
    const f = await injectFrames(locked, '/v1/stream?access_token=sesame');
    f.send({ op: 'forward', id: 'a', model, x });
    expect(await f.next((m) => m.event === 'result')).toMatchObject({ id: 'a' });
    f.ws.close();
    const g = await injectFrames(locked, '/v1/stream', { authorization: 'Bearer sesame' });
    g.ws.close();
    const plain = await locked.inject({ url: '/v1/stream', headers: { authorization: 'Bearer sesame' } });
    expect(plain.statusCode).toBe(426);
    expect(plain.headers['content-type']).toMatch(/problem\+json/);
    await locked.close();
  });
});
