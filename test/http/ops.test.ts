// Operations and cross-cutting plugins: health, readiness, metrics, OpenAPI, tokens, CORS, security headers.

import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseOf, testApp } from '../helpers/app.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const forward = { model: { config: { inputSize: 1, hiddenSize: 2, outputSize: 2 }, init: { seed: 3 } }, x: [[[1]]] };

describe('operations', () => {
  it('/health answers; /ready names the database, the pool and the kernels', async () => {
    app = await testApp({ poolThreads: 1 });
    expect((await app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({
      status: 'ok',
      pool: { threads: 1, queued: 0, running: 0 },
      kernels: expect.any(String),
    });
  });

  it('/ready is a 503 when the database is closed', async () => {
    app = await testApp({ poolThreads: 1 });
    await databaseOf(app).close();
    const r = await app.inject({ method: 'GET', url: '/ready' });
    expect(r.statusCode).toBe(503);
    expect(r.json().detail).toMatch(/database/);
  });

  it('/ready is a 503 when there is no worker pool', async () => {
    app = await testApp();
    const r = await app.inject({ method: 'GET', url: '/ready' });
    expect(r.statusCode).toBe(503);
    expect(r.headers['content-type']).toMatch(/problem\+json/);
  });

  it('/metrics has request latency per route, compute time, queue depth and event-loop lag', async () => {
    app = await testApp();
    await app.inject({ method: 'POST', url: '/v1/forward', payload: forward });
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(
      /unroll_http_request_duration_seconds_count\{method="POST",route="\/v1\/forward",status_code="200"\} 1/,
    );
    expect(text).toMatch(/unroll_compute_seconds_count\{op="forward",where="inline"\} 1/);
    expect(text).toMatch(/unroll_pool_queue_depth 0/);
    expect(text).toMatch(/nodejs_eventloop_lag_seconds/);
    // prom-client's gauges named like counters are served under names promtool accepts
    expect(text).toMatch(/^nodejs_active_handles_all \d+$/m);
    expect(text).not.toMatch(/^nodejs_active_\w+_total/m);
  });

  it('/openapi.json documents every /v1 route, and /docs serves the UI', async () => {
    app = await testApp();
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    for (const p of [
      '/v1/forward',
      '/v1/bptt',
      '/v1/jacobian',
      '/v1/gradcheck',
      '/v1/models',
      '/v1/models/{id}',
      '/v1/models/{id}/weights',
      '/v1/models/{id}/forward',
    ]) {
      expect(doc.paths, p).toHaveProperty([p]);
    }
    // tensors are documented as nested arrays of numbers, errors as problem+json
    expect(doc.components.schemas.ForwardBodyInput.properties.x).toMatchObject({
      type: 'array',
      items: { type: 'array', items: { type: 'array', items: { type: 'number' } } },
    });
    expect(doc.paths['/v1/forward'].post.responses['4XX'].content).toHaveProperty(['application/problem+json']);
    expect((await app.inject({ method: 'GET', url: '/docs/' })).statusCode).toBe(200);
  });

  it('/problems lists the problem types that errors link to', async () => {
    app = await testApp();
    const list = (await app.inject({ method: 'GET', url: '/problems' })).json();
    expect(list).toContainEqual({ type: '/problems/non-finite', status: 422, title: expect.any(String) });
    expect((await app.inject({ method: 'GET', url: '/problems/too-expensive' })).json().status).toBe(413);
  });
});

describe('access', () => {
  it('with UNROLL_API_TOKENS, /v1 needs a bearer token and health routes do not', async () => {
    app = await testApp({ env: { UNROLL_API_TOKENS: 'alpha, beta' } });
    const none = await app.inject({ method: 'POST', url: '/v1/forward', payload: forward });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/Bearer/);
    expect(none.headers['content-type']).toMatch(/problem\+json/);
    const wrong = await app.inject({
      method: 'POST',
      url: '/v1/forward',
      payload: forward,
      headers: { authorization: 'Bearer gamma' },
    });
    expect(wrong.statusCode).toBe(401);
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/forward',
      payload: forward,
      headers: { authorization: 'Bearer beta' },
    });
    expect(ok.statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/models?access_token=alpha' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('without UNROLL_API_TOKENS everything is open', async () => {
    app = await testApp();
    expect((await app.inject({ method: 'POST', url: '/v1/forward', payload: forward })).statusCode).toBe(200);
  });

  it('CORS is off by default and follows UNROLL_CORS_ORIGINS', async () => {
    app = await testApp();
    const off = await app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://example.org' } });
    expect(off.headers['access-control-allow-origin']).toBeUndefined();
    await app.close();
    app = await testApp({ env: { UNROLL_CORS_ORIGINS: 'https://example.org' } });
    const on = await app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://example.org' } });
    expect(on.headers['access-control-allow-origin']).toBe('https://example.org');
  });

  it('responses carry security headers (helmet)', async () => {
    app = await testApp();
    const r = await app.inject({ method: 'GET', url: '/health' });
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['content-security-policy']).toBeDefined();
  });
});
