// Redis stopped under an api process and a worker (a redis-server of this suite's own on a free port, never
// the shared one): /ready is 503 on both, the stateless compute routes keep answering, a sequence chunk is a
// 503 to retry, and when Redis is back everything is ready again and a run posted before the outage
// finishes with every committed step once. Skipped, and said so, without PostgreSQL or redis-server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OwnRedis, ownRedis, REDIS_SERVER } from '../helpers/own-redis.js';
import { type FreshDatabase, freshDatabase, pgReachable } from '../helpers/pg.js';
import { postRun, type ServerProcess, startServer, waitForRun } from '../helpers/server.js';
import { makeX } from '../helpers/v2.js';

const pgUp = await pgReachable();
const up = pgUp && REDIS_SERVER !== null;
if (!up)
  console.warn(
    `REDIS FAULT TESTS SKIPPED: ${pgUp ? '' : 'PostgreSQL does not answer. '}${REDIS_SERVER ? '' : 'redis-server is not installed. '}They did not run and are not counted as passed.`,
  );

const dataDir = mkdtempSync(join(tmpdir(), 'unroll-faults-'));
const servers: ServerProcess[] = [];
let redis: OwnRedis | null = null;
let db: FreshDatabase | null = null;
let api: ServerProcess;
let worker: ServerProcess;

beforeAll(async () => {
  if (!up) return;
  redis = await ownRedis();
  db = await freshDatabase('cluster');
  const env = (role: string) => ({
    UNROLL_ROLE: role,
    UNROLL_DATA_DIR: dataDir,
    UNROLL_DATABASE_URL: db!.url,
    UNROLL_REDIS_URL: redis!.url,
    UNROLL_REDIS_PREFIX: 'faults:',
    UNROLL_RUN_CHECKPOINT_EVERY: '50',
    UNROLL_RUN_STALL_SECONDS: '2',
  });
  api = await startServer(env('api'));
  servers.push(api);
  worker = await startServer(env('worker'));
  servers.push(worker);
}, 240_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  await redis?.stop();
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

const post = (base: string, path: string, body: unknown) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

async function until(what: string, ok: () => Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!up)('Redis stopped and back', () => {
  it('503 on /ready everywhere, compute answers, runs wait and go on, nothing committed lost', async () => {
    const model = (await (
      await post(api.base, '/v1/models', { config: { inputSize: 3, hiddenSize: 6, outputSize: 4 }, init: { seed: 3 } })
    ).json()) as { id: string };
    const steps = 400;
    const id = await postRun(api.base, { task: { name: 'majority' }, steps, hiddenEvery: 100, seed: 2 });
    await waitForRun(api.base, id, (r) => r.step > 20);

    await redis!.stop();
    await until('/ready 503 on the api and the worker', async () => {
      const s = await Promise.all([api, worker].map(async (p) => (await fetch(`${p.base}/ready`)).status));
      return s.every((x) => x === 503);
    });
    const x = makeX(2, 4, 3);
    // the stateless routes: the sheet's /v1/forward, and forward on a stored model (PostgreSQL only)
    const f = await post(api.base, '/v1/forward', {
      model: { config: { inputSize: 3, hiddenSize: 6, outputSize: 4 }, init: { seed: 3 } },
      x,
    });
    expect(f.status, await f.clone().text()).toBe(200);
    const stored = await post(api.base, `/v1/models/${model.id}/forward`, { x });
    expect(stored.status).toBe(200);
    expect(((await stored.json()) as { y: unknown }).y).toEqual(((await f.json()) as { y: unknown }).y);
    const seq = await post(api.base, `/v2/models/${model.id}/infer`, {
      parameters: { sequence_id: 'down', sequence_start: true },
      inputs: [{ name: 'x', shape: [2, 4, 3], datatype: 'FP64', data: x }],
    });
    expect(seq.status).toBe(503);

    await redis!.start();
    await until('/ready 200 again', async () => {
      const s = await Promise.all([api, worker].map(async (p) => (await fetch(`${p.base}/ready`)).status));
      return s.every((x) => x === 200);
    });
    const run = await waitForRun(api.base, id, (r) => r.status === 'succeeded' || r.status === 'failed', 180_000);
    expect(run.status, JSON.stringify(run)).toBe('succeeded');
    expect(run.step).toBeGreaterThanOrEqual(steps - 1);
    // every step committed once: none lost across the outage, none written twice by the resume
    const c = new pg.Client({ connectionString: db!.url });
    await c.connect();
    const rows = (
      await c.query("SELECT step FROM run_events WHERE run_id = $1 AND kind = 'step' ORDER BY step", [id])
    ).rows.map((r) => Number(r.step));
    await c.end();
    expect(rows).toEqual(Array.from({ length: steps }, (_, i) => i));
  }, 400_000);
});
