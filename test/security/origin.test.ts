// Issue 12, item 8: cross-site WebSocket hijacking. Before the upgrade of /v1/stream and of a run's event
// socket: no Origin (a non-browser client), the server's own origin and UNROLL_CORS_ORIGINS pass; any
// other page origin is a 403 and never gets a socket.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';

const task = { task: { name: 'parity', length: 4 }, steps: 2, batchSize: 4 };

describe('WebSocket Origin check', () => {
  let app: FastifyInstance;
  let runUrl: string;
  beforeAll(async () => {
    app = await testApp({ env: { UNROLL_CORS_ORIGINS: 'https://course.example.edu' } });
    const r = await app.inject({ method: 'POST', url: '/v1/runs', payload: task });
    expect(r.statusCode, r.body).toBe(202);
    runUrl = `/v1/runs/${r.json().id}/events`;
  });
  afterAll(() => app.close());

  const open = (url: string, headers: Record<string, string>) => app.injectWS(url, { headers });

  for (const route of ['/v1/stream', 'run events']) {
    const url = () => (route === 'run events' ? runUrl : route);
    it(`${route}: refuses another site's page with 403 before the upgrade`, async () => {
      for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1.evil.example', 'garbage'])
        await expect(open(url(), { origin, host: 'localhost:3000' }), origin).rejects.toThrow(/403/);
    });
    it(`${route}: lets no Origin, its own origin and UNROLL_CORS_ORIGINS through`, async () => {
      for (const headers of <Record<string, string>[]>[
        { host: 'localhost:3000' },
        { origin: 'http://localhost:3000', host: 'localhost:3000' },
        { origin: 'https://course.example.edu', host: 'localhost:3000' },
      ]) {
        const ws = await open(url(), headers);
        ws.terminate();
      }
    });
  }

  it('leaves plain HTTP requests from other origins to CORS (no 403 on a GET)', async () => {
    const r = await app.inject({ url: '/v1/models', headers: { origin: 'https://evil.example' } });
    expect(r.statusCode).toBe(200);
  });
});
