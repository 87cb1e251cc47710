// PostgreSQL stopped under two api processes and a worker (a PostgreSQL of this suite's own: initdb into a
// temp dir, pg_ctl on a free port; never the shared one), on the shared Redis with a key prefix of its own:
// /ready is 503 on every process, a request that needs the database is a 503 problem+json within a few
// seconds (never a 500, never a hang), the stateless compute routes keep answering on both replicas, and
// when PostgreSQL is back everything recovers without a restart: the stored model answers on both, a run
// that was training when it went away finishes, and a new run trains. Skipped, and said so, without
// PostgreSQL's binaries or Redis.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWN_PG_MISSING, type OwnPostgres, ownPostgres } from '../helpers/own-pg.js';
import { dropRedisPrefix, redisAnswers } from '../helpers/own-redis.js';
import { postRun, type ServerProcess, startServer, waitForRun } from '../helpers/server.js';
import { makeX } from '../helpers/v2.js';

const REDIS_URL = process.env.UNROLL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisUp = await redisAnswers(REDIS_URL);
const up = redisUp && OWN_PG_MISSING === null;
if (!up)
  console.warn(
    `POSTGRESQL FAULT TESTS SKIPPED: ${OWN_PG_MISSING ?? ''}${redisUp ? '' : ` Redis does not answer at ${REDIS_URL}.`} They did not run and are not counted as passed.`,
  );

const prefix = `unroll-pgfaults-${Math.random().toString(36).slice(2, 10)}:`;
const dataDir = mkdtempSync(join(tmpdir(), 'unroll-pg-faults-'));
const servers: ServerProcess[] = [];
let own: OwnPostgres | null = null;
let A: ServerProcess;
let B: ServerProcess;
let W: ServerProcess;
/** UNROLL_DATABASE_TIMEOUT_MS of the processes: a request waits at most about this long for the database. */
const DB_TIMEOUT_MS = 2000;

beforeAll(async () => {
  if (!up) return;
  own = await ownPostgres();
  const env = (role: string) => ({
    UNROLL_ROLE: role,
    UNROLL_DATA_DIR: dataDir,
    UNROLL_DATABASE_URL: own!.url,
    UNROLL_DATABASE_TIMEOUT_MS: String(DB_TIMEOUT_MS),
    UNROLL_REDIS_URL: REDIS_URL,
    UNROLL_REDIS_PREFIX: prefix,
    UNROLL_RUN_CHECKPOINT_EVERY: '50',
    UNROLL_RUN_STALL_SECONDS: '2',
    UNROLL_RUNS_CONCURRENCY: '1',
  });
  A = await startServer(env('api')); // first: it migrates the database
  servers.push(A);
  [B, W] = await Promise.all([startServer(env('api')), startServer(env('worker'))]);
  servers.push(B, W);
}, 240_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  own?.destroy();
  rmSync(dataDir, { recursive: true, force: true });
  if (!redisUp) return;
  await dropRedisPrefix(REDIS_URL, prefix);
}, 60_000);

const request = (base: string, path: string, body?: unknown) =>
  fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    // a hang is a failure, not a stuck suite
    signal: AbortSignal.timeout(60_000),
  });

async function until(what: string, ok: () => Promise<boolean>, ms = 90_000) {
  const deadline = Date.now() + ms;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const readyEverywhere = (status: number) => async () =>
  (await Promise.all([A, B, W].map(async (p) => (await request(p.base, '/ready')).status))).every((s) => s === status);

const sheet = { config: { inputSize: 3, hiddenSize: 6, outputSize: 4 }, init: { seed: 3 } };

describe.skipIf(!up)('PostgreSQL stopped under the cluster, and back', () => {
  it('503 on /ready everywhere, 503 problem+json for what needs it, compute answers, all recovers without a restart', async () => {
    const model = (await (await request(A.base, '/v1/models', sheet)).json()) as { id: string };
    const x = makeX(2, 4, 3);
    const before = (await (await request(B.base, `/v1/models/${model.id}/forward`, { x })).json()) as { y: unknown };
    const steps = 4000;
    const runId = await postRun(A.base, { task: { name: 'majority' }, steps, hiddenEvery: 1000, seed: 4 });
    await waitForRun(A.base, runId, (r) => r.step > 60);
    own!.stop();
    await until('/ready 503 on both api processes and the worker', readyEverywhere(503));

    // what needs the database: a 503 problem+json, soon (the pool's connection timeout), on either replica
    for (const [base, path, body] of [
      [A.base, `/v1/models/${model.id}`, undefined],
      [B.base, `/v1/models/${model.id}/forward`, { x }],
      [B.base, '/v1/models', sheet],
      [A.base, `/v1/runs/${runId}`, undefined],
      [B.base, '/v1/runs', { task: { name: 'majority' }, steps: 10 }],
    ] as const) {
      const t0 = Date.now();
      const r = await request(base, path, body);
      const ms = Date.now() - t0;
      expect(r.status, `${path}: ${await r.clone().text()}`).toBe(503);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(((await r.json()) as { status: number }).status).toBe(503);
      // "within a few seconds": the timeout plus generous room for a loaded machine, far from a hang
      expect(ms, `${path} answered after ${ms} ms`).toBeLessThan(DB_TIMEOUT_MS + 20_000);
    }
    // the stateless compute routes answer on both replicas
    for (const base of [A.base, B.base]) {
      const f = await request(base, '/v1/forward', { model: sheet, x });
      expect(f.status).toBe(200);
      expect(((await f.json()) as { y: unknown }).y).toEqual(before.y);
      expect((await request(base, '/v1/bptt', { model: sheet, x, targets: [0, 1] })).status).toBe(200);
    }

    own!.start();
    await until('/ready 200 again everywhere', readyEverywhere(200));
    for (const base of [A.base, B.base]) {
      const r = await request(base, `/v1/models/${model.id}/forward`, { x });
      expect(r.status).toBe(200);
      expect(((await r.json()) as { y: unknown }).y).toEqual(before.y);
    }
    // the run that was training when the database went away goes on and finishes, each step logged once
    const run = await waitForRun(B.base, runId, (r) => r.status === 'succeeded' || r.status === 'failed', 180_000);
    expect(run.status, JSON.stringify(run)).toBe('succeeded');
    const c = new pg.Client({ connectionString: own!.url });
    await c.connect();
    const logged = (
      await c.query("SELECT step FROM run_events WHERE run_id = $1 AND kind = 'step' ORDER BY step", [runId])
    ).rows.map((r) => Number(r.step));
    // it was training through the outage: it started twice (the second time from its checkpoint)
    const starts = (
      await c.query(
        "SELECT step FROM run_events WHERE run_id = $1 AND kind = 'status' AND frame LIKE '%\"running\"%' ORDER BY seq",
        [runId],
      )
    ).rows.map((r) => Number(r.step));
    await c.end();
    expect(starts.length, `the run's starts: ${starts}`).toBeGreaterThanOrEqual(2);
    expect(logged).toEqual(Array.from({ length: steps }, (_, i) => i));
    // and a new one trains
    const next = await postRun(B.base, { task: { name: 'majority' }, steps: 50, seed: 5 });
    expect((await waitForRun(A.base, next, (r) => r.status === 'succeeded' || r.status === 'failed')).status).toBe(
      'succeeded',
    );
  }, 400_000);
});
