// Training runs through the HTTP API with the real run pool: a built-in task learns and becomes a stored
// model, inline data trains, bad bodies are refused with the path, the queue holds runs beyond the
// concurrency, cancel stops a run and frees its thread, replay + resume has no gap and no duplicate.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunEventFrame } from '../../src/schemas/runs.js';
import { testApp } from '../helpers/app.js';
import { type Frame, injectFrames } from '../helpers/ws.js';

let app: FastifyInstance;
beforeAll(async () => {
  // one run at a time; a budget no test reaches, so nothing here is conflated
  app = await testApp({ env: { UNROLL_RUNS_CONCURRENCY: '1', UNROLL_WS_SEND_BUDGET: String(256 * 1024 * 1024) } });
  await app.ready();
});
afterAll(() => app.close());

const post = (url: string, payload?: object) => app.inject({ method: 'POST', url, ...(payload ? { payload } : {}) });
const create = async (body: object): Promise<string> => {
  const r = await post('/v1/runs', body);
  expect(r.statusCode, r.body).toBe(202);
  return r.json().id;
};
const follow = (id: string, since?: number) =>
  injectFrames(app, `/v1/runs/${id}/events${since === undefined ? '' : `?since=${since}`}`);
const steps = (frames: Frame[]) => frames.filter((f) => f.event === 'step').map((f) => f.step);
const statuses = (frames: Frame[]) => frames.filter((f) => f.event === 'status').map((f) => f.status);
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
/** A run long enough to still be training while a test looks at it; cancelled at the end of each test. */
const long = { task: { name: 'sign-of-sum', length: 5 }, steps: 1_000_000, batchSize: 4 };

describe('POST /v1/runs on a built-in task', () => {
  it('trains in the run pool, streams its events, and stores the trained weights as a model', async () => {
    const r = await post('/v1/runs', { task: { name: 'majority' }, hiddenEvery: 100 });
    expect(r.statusCode).toBe(202);
    expect(r.json()).toEqual({ id: expect.any(String), status: 'queued' });
    expect(r.headers.location).toBe(`/v1/runs/${r.json().id}`);
    const id = r.json().id;
    const f = await follow(id);
    const frames = await f.untilClosed();
    expect(f.closed?.code).toBe(1000);
    for (const fr of frames) RunEventFrame.parse(fr);
    expect(statuses(frames)).toEqual(['queued', 'running', 'succeeded']);
    expect(steps(frames)).toEqual(range(0, 400));
    expect(frames.filter((x) => x.event === 'hidden').map((x) => x.step)).toEqual([0, 100, 200, 300, 400]);

    const run = (await app.inject({ url: `/v1/runs/${id}` })).json();
    expect(run).toMatchObject({ status: 'succeeded', step: 400, steps: 400, task: 'majority', reason: null });
    expect(run.evaluation.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(run.metrics.loss).toBeTypeOf('number');
    expect(frames.at(-1)).toMatchObject({ event: 'status', status: 'succeeded', modelId: run.modelId });
    const model = (await app.inject({ url: `/v1/models/${run.modelId}` })).json();
    expect(model).toMatchObject({ source: `run:${id}`, config: { inputSize: 1, hiddenSize: 16, outputSize: 2 } });
    // the stored model predicts majority: eleven +1 bits → class 1
    const fwd = await post(`/v1/models/${run.modelId}/forward`, { x: [Array.from({ length: 11 }, () => [1])] });
    expect(fwd.json().y[0][1]).toBeGreaterThan(0.5);
  });

  it('trains on inline data, evaluated on that data', async () => {
    const x = [
      [[1], [1]],
      [[-1], [-1]],
      [[1], [-1]],
      [[-1], [1]],
    ];
    const id = await create({
      model: { config: { inputSize: 1, hiddenSize: 8, outputSize: 2 }, init: { seed: 3 } },
      data: { x, targets: [1, 0, 0, 1] },
      optimizer: { name: 'adam', lr: 0.05 },
      steps: 300,
    });
    await (await follow(id)).untilClosed();
    const run = (await app.inject({ url: `/v1/runs/${id}` })).json();
    expect(run.status).toBe('succeeded');
    expect(run.evaluation).toMatchObject({ size: 4, accuracy: 1 });
  });

  it('trains a readout "all" model on inline data with a target per step', async () => {
    const x = [
      [[1], [-1], [1]],
      [[-1], [1], [-1]],
    ];
    const id = await create({
      model: { config: { inputSize: 1, hiddenSize: 4, outputSize: 2, readout: 'all' }, init: { seed: 1 } },
      data: {
        x,
        targets: [
          [1, 0, 1],
          [0, 1, 0],
        ],
      },
      optimizer: { name: 'sgd', lr: 0.5 },
      steps: 200,
      truncate: 2,
    });
    await (await follow(id)).untilClosed();
    const run = (await app.inject({ url: `/v1/runs/${id}` })).json();
    expect(run).toMatchObject({ status: 'succeeded', evaluation: { size: 2, accuracy: 1 } });
  });

  it('refuses a run beyond UNROLL_RUNS_MAX_QUEUED with 503, but not while a thread is free', async () => {
    const strict = await testApp({ env: { UNROLL_RUNS_CONCURRENCY: '1', UNROLL_RUNS_MAX_QUEUED: '0' } });
    const ok = await strict.inject({ method: 'POST', url: '/v1/runs', payload: long });
    expect(ok.statusCode).toBe(202);
    const refused = await strict.inject({ method: 'POST', url: '/v1/runs', payload: long });
    expect(refused.statusCode).toBe(503);
    expect(refused.json().detail).toMatch(/UNROLL_RUNS_MAX_QUEUED = 0/);
    await strict.close();
  });

  it('refuses bad bodies with the path of the problem, before queueing', async () => {
    const bad = await post('/v1/runs', {
      task: { name: 'parity' },
      model: { config: { inputSize: 3, hiddenSize: 4, outputSize: 2 }, init: { seed: 1 } },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues[0].path).toEqual(['model', 'config', 'inputSize']);
    expect((await post('/v1/runs', { steps: 10 })).statusCode).toBe(400);
    const unknownTask = await post('/v1/runs', { task: { name: 'sorting' } });
    expect(unknownTask.json().issues[0].path).toEqual(['task', 'name']);
    const data = await post('/v1/runs', {
      model: { config: { inputSize: 2, hiddenSize: 3, outputSize: 2 }, init: { seed: 1 } },
      data: { x: [[[1, 2]]], targets: [5] },
    });
    expect(data.json().issues[0].path).toEqual(['data', 'targets', 0]);
    expect((await post('/v1/runs', { task: { name: 'parity' }, steps: 10_000_000 })).statusCode).toBe(413);
    expect((await post('/v1/runs', { task: { name: 'parity' }, modelId: 'nope' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/v1/runs/nope' })).statusCode).toBe(404);
    await expect(app.injectWS('/v1/runs/nope/events')).rejects.toThrow(/404/);
    const id = await create({ task: { name: 'majority' }, steps: 5 });
    expect((await app.inject({ url: `/v1/runs/${id}/events` })).statusCode).toBe(426);
    await (await follow(id)).untilClosed();
    expect((await app.inject({ url: '/v1/runs?status=queued' })).json().total).toBe(0);
  });

  it('lists the built-in tasks with their defaults', async () => {
    const tasks = (await app.inject({ url: '/v1/tasks' })).json().tasks;
    expect(tasks.map((t: { name: string }) => t.name)).toEqual(['parity', 'majority', 'copy-first', 'sign-of-sum']);
  });
});

describe('queue and cancel', () => {
  it('queues runs beyond the concurrency; cancel stops the running one and frees its thread for the next', async () => {
    const a = await create(long);
    const b = await create({ task: { name: 'majority' }, steps: 20 });
    const fa = await follow(a);
    await fa.next((m) => m.event === 'step' && m.step >= 5, 'run A training');
    expect((await app.inject({ url: `/v1/runs/${b}` })).json().status).toBe('queued');
    const listed = (await app.inject({ url: '/v1/runs?status=queued' })).json();
    expect(listed.runs.map((r: { id: string }) => r.id)).toEqual([b]);

    const cancelled = await post(`/v1/runs/${a}/cancel`);
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({
      status: 'cancelled',
      reason: expect.stringMatching(/cancelled by a client/),
    });
    const framesA = await fa.untilClosed();
    expect(framesA.at(-1)).toMatchObject({ event: 'status', status: 'cancelled' });
    expect(fa.closed?.code).toBe(1000);
    // B could only start once A's thread was free
    await (await follow(b)).untilClosed();
    expect((await app.inject({ url: `/v1/runs/${b}` })).json().status).toBe('succeeded');

    expect((await post(`/v1/runs/${b}/cancel`)).statusCode).toBe(409);
    expect((await post(`/v1/runs/${a}/cancel`)).json().status).toBe('cancelled');
    expect((await app.inject({ method: 'DELETE', url: `/v1/runs/${a}` })).statusCode).toBe(204);
    expect((await app.inject({ url: `/v1/runs/${a}` })).statusCode).toBe(404);
  });

  it('cancels a queued run at once, and refuses to delete a live one', async () => {
    const a = await create(long);
    const b = await create(long);
    expect((await app.inject({ method: 'DELETE', url: `/v1/runs/${a}` })).statusCode).toBe(409);
    expect((await post(`/v1/runs/${b}/cancel`)).json()).toMatchObject({ status: 'cancelled', step: 0 });
    expect((await post(`/v1/runs/${a}/cancel`)).json().status).toBe('cancelled');
  });
});

describe('GET /v1/runs/:id/events', () => {
  it('resumes with ?since=<last step seen> with no gap and no duplicate, for many subscribers at once', async () => {
    const id = await create({ ...long, hiddenEvery: 25 });
    const watchers = await Promise.all([follow(id), follow(id), follow(id)]);
    const first = await follow(id);
    const seen = await first.next((m) => m.event === 'step' && m.step >= 40, 'step 40');
    first.ws.close();
    const upTo = first.all.slice(0, first.all.indexOf(seen) + 1);
    const resumed = await follow(id, seen.step);
    await resumed.next((m) => m.event === 'step' && m.step >= seen.step + 60, '60 more steps');
    await post(`/v1/runs/${id}/cancel`);
    const rest = await resumed.untilClosed();
    const joined = [...upTo, ...rest];
    const n = steps(rest).at(-1) + 1;
    expect(steps(joined)).toEqual(range(0, n));
    expect(joined.filter((f) => f.event === 'hidden').map((f) => f.step)).toEqual(
      range(0, n).filter((s) => s % 25 === 0),
    );
    for (const w of watchers) expect(await w.untilClosed()).toEqual(joined);
    // after the end, a replay from any step is the tail of the log
    const tail = await (await follow(id, 30)).untilClosed();
    expect(tail).toEqual(joined.filter((f) => f.step > 30));
    expect(joined.some((f) => 'skipped' in f)).toBe(false);
  });
});

it('reports queued and running runs in /metrics', async () => {
  const metrics = (await app.inject({ url: '/metrics' })).body;
  expect(metrics).toMatch(/unroll_runs\{status="queued"\} 0/);
  expect(metrics).toMatch(/unroll_runs\{status="running"\} 0/);
});
