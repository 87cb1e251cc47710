// An offloaded request (body above UNROLL_OFFLOAD_BYTES, parsed in a worker) is still admitted before any
// compute: the cost cap (413) and the send budget's reservation of its answer (503 with Retry-After) are
// ComputeService.admit, the same check as inline, run on the event loop between the worker's two phases.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OffloadJob } from '../../src/compute/offload-wire.js';
import type { ComputePool } from '../../src/compute/service.js';
import { testApp } from '../helpers/app.js';

let app: FastifyInstance | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

const poolOf = (a: FastifyInstance) => (a.services.compute as unknown as { pool: ComputePool }).pool;
const model = { config: { inputSize: 8, hiddenSize: 64, outputSize: 2 }, init: { seed: 1 } };
const xOf = (B: number, T: number) =>
  Array.from({ length: B }, (_, b) =>
    Array.from({ length: T }, (_, t) => Array.from({ length: 8 }, (_, i) => Math.sin(b + t + i))),
  );

/** The kinds of job the pool was given, and whether it ran a bare compute task. */
function watch(a: FastifyInstance) {
  const pool = poolOf(a);
  const call = vi.spyOn(pool, 'call');
  const run = vi.spyOn(pool, 'run');
  // a task computed and encoded by one compute thread (ComputePool.runEncoded) is a compute too
  const fused = vi.spyOn(pool as Required<ComputePool>, 'runEncoded');
  return {
    kinds: () => call.mock.calls.map(([job]) => (job as OffloadJob).kind),
    ran: () => run.mock.calls.length + fused.mock.calls.length,
    fused: () => fused.mock.calls.length,
  };
}

describe('admission of offloaded requests', () => {
  it('a body parsed in the worker that costs too much is a 413 before any compute', async () => {
    app = await testApp({ poolThreads: 1, env: { UNROLL_OFFLOAD_BYTES: '1024', UNROLL_MAX_COMPUTE_COST: '1000000' } });
    const w = watch(app);
    const body = JSON.stringify({ model, x: xOf(4, 50), targets: [0, 1, 0, 1], include: ['dh'] });
    expect(body.length).toBeGreaterThan(1024);
    const r = await app.inject({
      method: 'POST',
      url: '/v1/bptt',
      headers: { 'content-type': 'application/json' },
      payload: body,
    });
    expect(r.statusCode, r.body).toBe(413);
    expect(r.json().type).toBe('/problems/too-expensive');
    expect(w.kinds()).toEqual(['decode']);
    expect(w.ran()).toBe(0);
  });

  it('an answer that the send budget cannot hold is a 503 with Retry-After before any compute', async () => {
    app = await testApp({
      poolThreads: 1,
      env: { UNROLL_OFFLOAD_BYTES: '1024', UNROLL_SEND_BUDGET_BYTES: String(1024 * 1024) },
    });
    // unread answers already hold nearly all of the budget
    const release = app.services.sendBudget.reserve(1000 * 1024, 'answers nobody reads');
    const w = watch(app);
    const body = JSON.stringify({ model, x: xOf(4, 50), targets: [0, 1, 0, 1], include: ['dh'] });
    const r = await app.inject({
      method: 'POST',
      url: '/v1/bptt',
      headers: { 'content-type': 'application/json' },
      payload: body,
    });
    expect(r.statusCode, r.body).toBe(503);
    expect(r.headers['retry-after']).toBe('5');
    expect(r.json().type).toBe('/problems/overloaded');
    expect(w.kinds()).toEqual(['decode']);
    expect(w.ran()).toBe(0);
    release();
    // with the budget free again the same request is decoded (codec thread), then computed and encoded by one
    // compute thread
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/bptt',
      headers: { 'content-type': 'application/json' },
      payload: body,
    });
    expect(ok.statusCode).toBe(200);
    expect(w.kinds()).toEqual(['decode', 'decode']);
    expect(w.ran()).toBe(1);
    expect(w.fused()).toBe(1);
    expect(app.services.sendBudget.held).toBe(0);
  });

  it('/v2 infer answers are reserved before their work: of two at once that do not both fit, one is a 503 unrun', async () => {
    app = await testApp({ poolThreads: 1, env: { UNROLL_SEND_BUDGET_BYTES: String(1024 * 1024) } });
    const m = await app.inject({
      method: 'POST',
      url: '/v1/models',
      payload: { name: 'm', config: model.config, init: { seed: 1 } },
    });
    expect(m.statusCode).toBe(201);
    const w = watch(app);
    // each answer is estimated at ~650 kB: one fits the 1 MiB budget, two do not
    const payload = {
      inputs: [{ name: 'x', shape: [4, 100, 8], datatype: 'FP64', data: xOf(4, 100) }],
      outputs: [{ name: 'h' }],
    };
    const infer = () => app!.inject({ method: 'POST', url: '/v2/models/m/infer', payload });
    const rs = await Promise.all([infer(), infer()]);
    expect(rs.map((r) => r.statusCode).sort()).toEqual([200, 503]);
    const shed = rs.find((r) => r.statusCode === 503)!;
    expect(shed.headers['retry-after']).toBe('5');
    expect(shed.json().error).toContain('UNROLL_SEND_BUDGET_BYTES');
    // the refused one never reached the pool (counted at send, both would have been computed)
    expect(w.ran()).toBe(1);
    expect(app.services.sendBudget.held).toBe(0);
  });

  it('a stream feed reserves its answer before its work: a 503 error frame, the session still open', async () => {
    app = await testApp({ poolThreads: 1, env: { UNROLL_SEND_BUDGET_BYTES: String(1024 * 1024) } });
    await app.ready();
    const m = await app.inject({
      method: 'POST',
      url: '/v1/models',
      payload: { name: 'm', config: model.config, init: { seed: 1 } },
    });
    expect(m.statusCode).toBe(201);
    const w = watch(app);
    const frames: Record<string, unknown>[] = [];
    const ws = await app.injectWS('/v1/stream', {}, {
      onInit: (s: import('ws').WebSocket) => s.on('message', (d) => frames.push(JSON.parse(d.toString()))),
    } as never);
    const next = async (event: string) => {
      for (let i = 0; i < 200 && !frames.some((f) => f.event === event); i++)
        await new Promise((r) => setTimeout(r, 25));
      return frames.find((f) => f.event === event);
    };
    ws.send(JSON.stringify({ op: 'sequence', id: 's', modelId: 'm' }));
    expect(await next('sequence_open')).toBeTruthy();
    const release = app.services.sendBudget.reserve(1000 * 1024, 'answers nobody reads');
    ws.send(JSON.stringify({ op: 'feed', id: 's', x: xOf(4, 100) }));
    const err = (await next('error')) as { status?: number; detail?: string } | undefined;
    expect(err?.status).toBe(503);
    expect(err?.detail).toContain('UNROLL_SEND_BUDGET_BYTES');
    expect(w.ran()).toBe(0);
    release();
    ws.send(JSON.stringify({ op: 'feed', id: 's', x: xOf(4, 100), end: true }));
    expect(await next('result')).toBeTruthy();
    expect(w.ran()).toBe(1);
    ws.terminate();
  });
});
