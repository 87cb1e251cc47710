// Issue 12, item 3: work that admission did not count. A long thin sequence costs its timesteps (so it goes
// to the pool, or is refused), a model at the parameter cap is drawn and encoded a slice per event-loop turn
// (its JSON streamed as the client reads), and a run's long log is deleted a slice per turn.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { taskCost } from '../../src/compute/cost.js';
import type { ComputePool } from '../../src/compute/service.js';
import type { ComputeTask } from '../../src/compute/tasks.js';
import { initParams, initParamsStepwise } from '../../src/core/init.js';
import { PARAM_OF, WEIGHT_KEYS } from '../../src/core/model.js';
import { toNested } from '../../src/core/tensor.js';
import { openDatabase } from '../../src/db/open.js';
import { RunsRepo } from '../../src/db/runs.repo.js';
import { DELETE_SLICE } from '../../src/training/manager.js';
import { testApp } from '../helpers/app.js';

let app: FastifyInstance | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

const thin = { config: { inputSize: 1, hiddenSize: 1, outputSize: 2 }, init: { seed: 1 } };

describe('the admission cost', () => {
  it('counts each timestep, not only B·T·H·(d+H): a long thin sequence is no longer "cheap"', () => {
    const task = (T: number): ComputeTask => ({
      op: 'bptt',
      config: { inputSize: 1, hiddenSize: 1, outputSize: 2, activation: 'tanh', readout: 'last' },
      params: initParams({ inputSize: 1, hiddenSize: 1, outputSize: 2, activation: 'tanh', readout: 'last' }, 1),
      x: { data: new Float64Array(T), shape: [1, T, 1] },
      targets: new Float64Array(1),
      include: [],
    });
    // B·T·H·(d+H) = 2·10⁶ for T = 10⁶, which the old formula ran inline; its steps alone cost far more
    expect(taskCost(task(1_000_000))).toBeGreaterThan(1_000_000_000);
    expect(taskCost(task(20_000))).toBeGreaterThan(2_000_000);
  });

  it('sends a long thin BPTT to the worker pool instead of the event loop, and refuses T = 10⁶', async () => {
    app = await testApp({ poolThreads: 1 });
    const pool = (app.services.compute as unknown as { pool: ComputePool }).pool;
    const run = vi.spyOn(pool, 'run');
    const x = (T: number) => [Array.from({ length: T }, () => [0])];
    const r = await app.inject({
      method: 'POST',
      url: '/v1/bptt',
      payload: { model: thin, x: x(20_000), targets: [1] },
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(run).toHaveBeenCalledTimes(1);
    const huge = await app.inject({
      method: 'POST',
      url: '/v1/bptt',
      payload: { model: thin, x: x(1_000_000), targets: [1] },
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().detail).toContain('per timestep');
  });
});

describe('a model at the parameter cap', () => {
  it('draws the same weights a slice at a time as at once', () => {
    const config = { inputSize: 7, hiddenSize: 10, outputSize: 3, activation: 'tanh', readout: 'last' } as const;
    const whole = initParams(config, 42);
    const draw = initParamsStepwise(config, 42);
    let steps = 0;
    while (!draw.step(13)) steps++;
    expect(steps).toBeGreaterThan(5);
    for (const k of WEIGHT_KEYS) expect(draw.params[PARAM_OF[k]]).toEqual(whole[PARAM_OF[k]]);
  });

  it('answers POST and GET of a large model as a stream of slices, with the same JSON', async () => {
    app = await testApp();
    const config = { inputSize: 100, hiddenSize: 300, outputSize: 10 };
    const created = await app.inject({ method: 'POST', url: '/v1/models', payload: { config, init: { seed: 5 } } });
    expect(created.statusCode, created.body.slice(0, 300)).toBe(201);
    // streamed: no Content-Length, chunked on the wire
    expect(created.headers['content-length']).toBeUndefined();
    const got = await app.inject({ url: `/v1/models/${created.json().id}` });
    expect(got.statusCode).toBe(200);
    expect(got.headers['content-length']).toBeUndefined();
    expect(got.headers['content-type']).toContain('application/json');
    const body = got.json();
    expect(body).toMatchObject({ id: created.json().id, version: 1, source: 'init:5' });
    expect(body.config).toMatchObject(config);
    const p = initParams({ ...config, activation: 'tanh', readout: 'last' }, 5);
    expect(body.weights['W.weight']).toEqual(toNested(p.W, [300, 300]));
    expect(body.weights['V.bias']).toEqual(toNested(p.bV, [10]));
    expect(Object.keys(body.weights)).toEqual(['U.weight', 'W.weight', 'W.bias', 'V.weight', 'V.bias']);
    // the torch layout streams too
    const torch = await app.inject({ url: `/v1/models/${created.json().id}?layout=torch.nn.RNN` });
    expect(torch.json().weights['rnn.weight_hh_l0']).toEqual(toNested(p.W, [300, 300]));
  });
});

describe('DELETE of a run with a long log', () => {
  it('deletes the log a slice per event-loop turn: other requests are answered meanwhile', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unroll-security-delete-'));
    app = await testApp({ dataDir });
    const created = await app.inject({
      method: 'POST',
      url: '/v1/runs',
      payload: { task: { name: 'parity', length: 4 }, steps: 2, batchSize: 4 },
    });
    const id = created.json().id;
    for (let i = 0; i < 200; i++) {
      const r = await app.inject({ url: `/v1/runs/${id}` });
      if (['succeeded', 'failed'].includes(r.json().status)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // a second connection to the same file writes the long log
    const db = await openDatabase({ dataDir });
    const repo = new RunsRepo(db);
    const n = DELETE_SLICE * 10;
    let seq = await repo.lastSeq(id);
    const frame = JSON.stringify({ event: 'step', step: 0 });
    await repo.record(
      id,
      Array.from({ length: n }, (_, i) => ({ seq: ++seq, step: i, kind: 'step', frame })),
    );
    const slices = vi.spyOn(RunsRepo.prototype, 'deleteEvents');
    const order: string[] = [];
    const del = app.inject({ method: 'DELETE', url: `/v1/runs/${id}` }).then((r) => {
      order.push('delete');
      return r;
    });
    await new Promise((resolve) => setImmediate(resolve));
    const health = app.inject({ url: '/health' }).then((r) => {
      order.push('health');
      return r;
    });
    const [d, h] = await Promise.all([del, health]);
    expect(d.statusCode).toBe(204);
    expect(h.statusCode).toBe(200);
    expect(order).toEqual(['health', 'delete']);
    // 10 slices of events, then the empty one that ends the loop
    expect(slices.mock.calls.length).toBeGreaterThanOrEqual(11);
    expect(await repo.events(id, 0, -1, 10)).toHaveLength(0);
    expect((await app.inject({ url: `/v1/runs/${id}` })).statusCode).toBe(404);
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
});
