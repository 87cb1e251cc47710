// PostgreSQL stopped under a running service, on a server of this test's own: /ready is 503, requests that
// need the database are 503 problem+json within a few seconds (never a 500, never a hang), the stateless
// compute routes keep answering, and the service recovers without a restart once the server is back. At
// start-up, an unreachable UNROLL_DATABASE_URL is one log line naming the setting, then exit 1.
import { spawn } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';
import { OWN_PG_MISSING, type OwnPostgres, ownPostgres } from '../helpers/own-pg.js';

/** The store's timeout for this test: a request may take about this long before its 503. */
const TIMEOUT_MS = 1500;
/** What "within a few seconds" means here, with room for a loaded machine. */
const ANSWER_WITHIN_MS = 8000;
const LONG_RUN = { task: { name: 'sign-of-sum', length: 5 }, steps: 1_000_000, batchSize: 4 };
const model = { config: { inputSize: 2, hiddenSize: 3, outputSize: 2 }, init: { seed: 1 } };
const x = [
  [
    [0.1, 0.2],
    [0.3, 0.4],
  ],
];

if (OWN_PG_MISSING) console.warn(`note: ${OWN_PG_MISSING}: the PostgreSQL outage test is skipped`);

describe.skipIf(OWN_PG_MISSING !== null)(
  `PostgreSQL stopped and restarted${OWN_PG_MISSING ? ` (skipped: ${OWN_PG_MISSING})` : ''}`,
  () => {
    let pg: OwnPostgres;
    let app: FastifyInstance;
    beforeAll(async () => {
      pg = await ownPostgres();
      app = await testApp({
        databaseUrl: pg.url,
        poolThreads: 1,
        env: { UNROLL_DATABASE_TIMEOUT_MS: String(TIMEOUT_MS) },
      });
    }, 60_000);
    afterAll(async () => {
      await app?.close();
      pg?.destroy();
    });

    const timed = async (method: 'GET' | 'POST', url: string, payload?: object) => {
      const t0 = performance.now();
      const r = await app.inject({ method, url, ...(payload ? { payload } : {}) });
      return { r, ms: performance.now() - t0 };
    };

    it('answers 503 while it is down, and recovers when it is back', async () => {
      const created = await app.inject({ method: 'POST', url: '/v1/models', payload: model });
      expect(created.statusCode).toBe(201);
      const id = created.json().id;
      expect((await app.inject({ url: '/ready' })).statusCode).toBe(200);
      // a run training when the database goes: its events cannot be recorded, which stops it, not the process
      const run = await app.inject({ method: 'POST', url: '/v1/runs', payload: LONG_RUN });
      expect(run.statusCode).toBe(202);
      // (training, not just started: a worker thread can take a while to load on a busy machine)
      const step = async () => (await app.inject({ url: `/v1/runs/${run.json().id}` })).json().step ?? 0;
      for (let i = 0; i < 200 && (await step()) === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await step()).toBeGreaterThan(0);

      pg.stop();
      for (const [method, url, payload] of [
        ['GET', '/ready'],
        ['GET', `/v1/models/${id}`],
        ['POST', '/v1/models', model],
        ['GET', '/v1/runs'],
        ['POST', `/v1/models/${id}/forward`, { x }],
        ['GET', '/v2/health/ready'],
      ] as const) {
        const { r, ms } = await timed(method, url, payload);
        expect(r.statusCode, `${method} ${url}`).toBe(503);
        expect(r.headers['content-type'], `${method} ${url}`).toMatch(/json/);
        expect(ms, `${method} ${url}`).toBeLessThan(ANSWER_WITHIN_MS);
      }
      const down = await app.inject({ url: `/v1/models/${id}` });
      expect(down.headers['content-type']).toMatch(/problem\+json/);
      expect(down.json()).toMatchObject({ status: 503, detail: expect.stringMatching(/database/) });
      expect(down.headers['retry-after']).toBeDefined();
      // the compute routes that need no record keep answering
      const forward = await app.inject({ method: 'POST', url: '/v1/forward', payload: { model, x } });
      expect(forward.statusCode).toBe(200);

      pg.start();
      // the pool replaces its dropped connections: no restart
      let back = 0;
      for (let i = 0; i < 50 && back !== 200; i++) {
        back = (await app.inject({ url: `/v1/models/${id}` })).statusCode;
        if (back !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      expect(back).toBe(200);
      expect((await app.inject({ url: '/ready' })).statusCode).toBe(200);
      expect((await app.inject({ method: 'POST', url: '/v1/models', payload: model })).statusCode).toBe(201);
      // the run stopped when its events could not be recorded; its thread is free again
      for (let i = 0; i < 100 && app.services.runs.running() > 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(app.services.runs.running()).toBe(0);
    }, 60_000);

    it('refuses to start on an unreachable UNROLL_DATABASE_URL: one line naming it, exit 1', async () => {
      pg.stop();
      try {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
          env: {
            ...process.env,
            PORT: '0',
            UNROLL_DATABASE_URL: pg.url,
            UNROLL_DATABASE_TIMEOUT_MS: String(TIMEOUT_MS),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout!.on('data', (c) => {
          out += c;
        });
        child.stderr!.on('data', (c) => {
          out += c;
        });
        const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
        expect(code).toBe(1);
        const lines = out.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(JSON.parse(lines[0]).msg).toMatch(/^UNROLL_DATABASE_URL: cannot open the database: .*ECONNREFUSED/);
      } finally {
        pg.start();
      }
    }, 60_000);
  },
);
