// Over a real socket, with a real worker pool: heavy work never blocks /health, a client that goes away has
// its queued work dropped, and a full queue is a 503 with Retry-After.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function listen(env: Record<string, string>, poolThreads = 1): Promise<string> {
  // every compute request goes to the pool (UNROLL_INLINE_COST=0)
  app = await testApp({ env: { UNROLL_INLINE_COST: '0', ...env }, poolThreads });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

// about 2.5 GFLOP of BPTT: long enough to still be running while other requests come and go
const heavy = (seed: number) => ({
  model: { config: { inputSize: 1, hiddenSize: 512, outputSize: 2 }, init: { seed } },
  x: [Array.from({ length: 100 }, (_, t) => [Math.sin(t)])].concat(
    Array.from({ length: 15 }, () => Array.from({ length: 100 }, () => [0.5])),
  ),
  targets: Array.from({ length: 16 }, (_, i) => i % 2),
});
const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

describe('over a real socket', () => {
  it('serves the contract with supertest', async () => {
    const base = await listen({});
    const r = await request(base)
      .post('/v1/forward')
      .send({ model: { config: { inputSize: 1, hiddenSize: 2, outputSize: 2 }, init: { seed: 1 } }, x: [[[1]]] });
    expect(r.status).toBe(200);
    expect(r.body.y[0]).toHaveLength(2);
    const bad = await request(base).post('/v1/forward').set('content-type', 'application/json').send('{"x":');
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toMatch(/problem\+json/);
  });

  it('/health answers while a heavy request computes in the pool', async () => {
    const base = await listen({});
    let heavyDone = false;
    const slow = fetch(`${base}/v1/bptt`, json(heavy(1))).then(async (r) => {
      heavyDone = true;
      return r.status;
    });
    const answeredBeforeHeavy: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${base}/health`);
      expect(r.status).toBe(200);
      answeredBeforeHeavy.push(!heavyDone);
    }
    expect(answeredBeforeHeavy.every(Boolean)).toBe(true);
    expect(await slow).toBe(200);
  });

  it('drops the queued work of a client that went away', async () => {
    const base = await listen({});
    const first = fetch(`${base}/v1/bptt`, json(heavy(1)));
    await waitFor(() => poolBusy(base));
    // this one queues behind the first, then its client disconnects
    const ac = new AbortController();
    const { targets: _, ...forwardBody } = heavy(2);
    const gone = fetch(`${base}/v1/forward`, { ...json(forwardBody), signal: ac.signal }).catch((e) => e);
    await waitFor(async () => (await metric(base, 'unroll_pool_queue_depth')) === 1);
    ac.abort();
    await gone;
    expect((await first).status).toBe(200);
    // a later request runs after the first: had the dropped one not been dropped, it would have run before it
    expect((await fetch(`${base}/v1/bptt`, json(heavy(3)))).status).toBe(200);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).not.toMatch(/unroll_compute_seconds_count\{op="forward",where="pool"\}/);
    expect(text).toMatch(/unroll_compute_seconds_count\{op="bptt",where="pool"\} 2/);
  });

  it('answers 503 with Retry-After when the queue is full', async () => {
    const base = await listen({ UNROLL_POOL_MAX_QUEUE: '1' });
    const running = fetch(`${base}/v1/bptt`, json(heavy(1)));
    await waitFor(() => poolBusy(base));
    // one more fits in the queue; the other three, sent while the first still computes, do not
    const more = await Promise.all([2, 3, 4, 5].map((seed) => fetch(`${base}/v1/bptt`, json(heavy(seed)))));
    const refused = more.filter((r) => r.status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(3);
    expect(refused[0].headers.get('retry-after')).toBe('1');
    expect(refused[0].headers.get('content-type')).toMatch(/problem\+json/);
    expect((await running).status).toBe(200);
    expect(more.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
  });
});

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/** True once a worker is computing a task. */
async function poolBusy(base: string): Promise<boolean> {
  return (await metric(base, 'unroll_pool_running')) > 0;
}

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
