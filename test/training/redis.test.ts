// The Redis seams with real processes on the shared Redis (127.0.0.1:6379, a key prefix of this test's
// own) and the shared PostgreSQL (a database of its own): an api process that never trains and worker
// processes that serve only their health. A run posted to the api trains on a worker, its events reach a follower on the api once
// each; a worker SIGKILLed mid-run loses its BullMQ lock, the stalled-job check hands the run to another
// worker, which resumes it from its checkpoint: the same weights bit for bit, each step once on the
// follower that watched it all; a cancel through the api stops a run on a worker.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { dropRedisPrefix, redisAnswers } from '../helpers/own-redis.js';
import { type FreshDatabase, freshDatabase, pgReachable } from '../helpers/pg.js';
import { postRun, type ServerProcess, startServer, waitForRun } from '../helpers/server.js';
import { Frames } from '../helpers/ws.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

const redisUp = await redisAnswers(REDIS_URL);
const pgUp = await pgReachable();
const up = redisUp && pgUp;
if (!up)
  console.warn(
    `${redisUp ? '' : `Redis does not answer at ${REDIS_URL}. `}${pgUp ? '' : 'PostgreSQL does not answer. '}The Redis seam tests did not run (skipped, not passed).`,
  );
const db: FreshDatabase | null = up ? await freshDatabase('checkpoint') : null;
/** One query on the test's database. */
async function query<T>(text: string, values: unknown[]): Promise<T[]> {
  const c = new pg.Client({ connectionString: db!.url });
  await c.connect();
  try {
    return (await c.query(text, values)).rows as T[];
  } finally {
    await c.end();
  }
}

const prefix = `unroll-checkpoint-${Math.random().toString(36).slice(2, 10)}:`;
const dataDir = mkdtempSync(join(tmpdir(), 'unroll-redis-'));
const servers: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  rmSync(dataDir, { recursive: true, force: true });
  if (!up) return;
  await db!.drop();
  // this test's keys only
  await dropRedisPrefix(REDIS_URL, prefix);
});

const EVERY = 100;
const STEPS = 3000;
const spec = {
  model: { config: { inputSize: 1, hiddenSize: 32, outputSize: 2, readout: 'last' }, init: { seed: 7 } },
  task: { name: 'sign-of-sum', length: 20 },
  optimizer: { name: 'adam', lr: 0.003, amsgrad: true },
  steps: STEPS,
  batchSize: 16,
  clipNorm: 1,
  seed: 5,
  hiddenEvery: 50,
};

const env = (role: 'api' | 'worker') => ({
  UNROLL_ROLE: role,
  UNROLL_DATA_DIR: dataDir,
  UNROLL_DATABASE_URL: db?.url ?? '',
  UNROLL_REDIS_URL: REDIS_URL,
  UNROLL_REDIS_PREFIX: prefix,
  UNROLL_RUNS_CONCURRENCY: '1',
  UNROLL_RUN_CHECKPOINT_EVERY: String(EVERY),
  UNROLL_RUN_STALL_SECONDS: '4',
  // a budget no test reaches, so a follower under load gets every frame (nothing conflated)
  UNROLL_WS_SEND_BUDGET: String(256 * 1024 * 1024),
  UNROLL_RUN_MAX_ATTEMPTS: '2',
});
const start = async (role: 'api' | 'worker') => {
  const s = await startServer(env(role));
  servers.push(s);
  return s;
};
/** Whether a worker trains a run now (its /metrics). */
const trains = async (s: ServerProcess) =>
  /unroll_runs\{status="running"\} 1/.test(await (await fetch(`${s.base}/metrics`)).text());
const follow = (base: string, id: string) =>
  new Frames(new WebSocket(`${base.replace('http', 'ws')}/v1/runs/${id}/events`));

describe.skipIf(!up)('runs on BullMQ and Redis pub/sub', () => {
  let api: ServerProcess;
  let worker: ServerProcess;

  it('serves only health, readiness and metrics on a worker, and trains a run posted to the api there', async () => {
    api = await start('api'); // first: it migrates the file the others open
    worker = await start('worker');
    expect((await fetch(`${worker.base}/health`)).status).toBe(200);
    expect((await fetch(`${worker.base}/ready`)).status).toBe(200);
    expect((await fetch(`${worker.base}/metrics`)).status).toBe(200);
    expect((await fetch(`${worker.base}/v1/runs`)).status).toBe(404);
    expect((await fetch(`${api.base}/ready`)).status).toBe(200);

    const id = await postRun(api.base, { task: { name: 'majority' }, steps: 300, hiddenEvery: 100 });
    const frames = await follow(api.base, id).untilClosed();
    expect(frames.filter((f) => f.event === 'step').map((f) => f.step)).toEqual(
      Array.from({ length: 300 }, (_, i) => i),
    );
    expect(frames.filter((f) => f.event === 'status').map((f) => f.status)).toEqual(['queued', 'running', 'succeeded']);
    expect(((await (await fetch(`${api.base}/v1/runs/${id}`)).json()) as { status: string }).status).toBe('succeeded');
  }, 120_000);

  it('resumes a run whose worker was SIGKILLed on another worker: the same weights bit for bit, each step once', async () => {
    // two workers up before the run is posted; the one that trains it is killed, the other takes it over
    const other = await start('worker');
    const id = await postRun(api.base, spec);
    const watcher = follow(api.base, id); // on the api, from the first event to the last
    await waitForRun(api.base, id, (r) => r.step >= 3 * EVERY + 50);
    const [trainer, standby] = (await trains(worker)) ? [worker, other] : [other, worker];
    const killedAt = performance.now();
    await trainer.kill();
    worker = standby;
    // the last step the dead worker committed
    const [{ max: lastBefore }] = await query<{ max: number }>(
      "SELECT MAX(step) AS max FROM run_events WHERE run_id = $1 AND kind = 'step'",
      [id],
    );
    const firstNew = await watcher.next((f) => f.event === 'step' && f.step > lastBefore, 'a step after the kill');
    const killToNewStepMs = performance.now() - killedAt;
    expect(firstNew.step).toBe(lastBefore + 1);
    const frames = await watcher.untilClosed();
    const run = await waitForRun(api.base, id, (r) => r.status === 'succeeded' || r.status === 'failed');
    expect(run.status).toBe('succeeded');
    expect(frames.filter((f) => f.event === 'step').map((f) => f.step)).toEqual(
      Array.from({ length: STEPS }, (_, i) => i),
    );

    const refId = await postRun(api.base, spec);
    const ref = await waitForRun(api.base, refId, (r) => r.status === 'succeeded' || r.status === 'failed');
    expect(ref.status).toBe('succeeded');
    const weights = async (modelId: string) =>
      // the weights' rows of blob_chunks (migration 008), in order
      (
        await query<{ weights: Buffer }>(
          "SELECT string_agg(c.data, ''::bytea ORDER BY c.idx) AS weights FROM models m JOIN blob_chunks c ON c.blob_id = m.weights_id WHERE m.id = $1",
          [modelId],
        )
      )[0].weights;
    const logged = async (runId: string, kind: string) =>
      (
        await query<{ frame: string }>('SELECT frame FROM run_events WHERE run_id = $1 AND kind = $2 ORDER BY seq', [
          runId,
          kind,
        ])
      ).map((r) => r.frame);
    expect((await weights(run.modelId)).equals(await weights(ref.modelId))).toBe(true);
    expect(await logged(id, 'step')).toEqual(await logged(refId, 'step'));
    const resumedFrom = (await logged(id, 'status')).map((f) => JSON.parse(f));
    const from = resumedFrom.filter((s) => s.status === 'running').at(-1).step;
    console.info(
      `BullMQ resume after SIGKILL: ${lastBefore + 1 - from} steps recomputed (checkpoint every ${EVERY}), ${Math.round(killToNewStepMs)} ms from the kill to the first new step on the standby worker (stall check every 4 s)`,
    );
  }, 240_000);

  it('fails a run whose worker died UNROLL_RUN_MAX_ATTEMPTS times, with the reason', async () => {
    const id = await postRun(api.base, { ...spec, steps: 100_000 });
    await waitForRun(api.base, id, (r) => r.status === 'running' && r.step > 0);
    const second = await start('worker');
    await worker.kill();
    worker = second;
    const at = (await waitForRun(api.base, id, () => true)).step;
    await waitForRun(api.base, id, (r) => r.step > at + 5, 60_000); // the second worker trains it
    const third = await start('worker');
    await second.kill();
    worker = third;
    const run = await waitForRun(api.base, id, (r) => r.status === 'failed', 60_000);
    expect(run.reason).toMatch(/stopped 2 times \(UNROLL_RUN_MAX_ATTEMPTS = 2\), the last at step \d+: .*stalled/);
  }, 120_000);

  it('hands a run to another worker at a graceful shutdown (SIGTERM), without counting an attempt', async () => {
    const id = await postRun(api.base, { ...spec, steps: 100_000 });
    await waitForRun(api.base, id, (r) => r.status === 'running' && r.step > EVERY);
    const next = await start('worker');
    await worker.stop();
    worker = next;
    const at = (await waitForRun(api.base, id, () => true)).step;
    // well within one stall interval: it was handed over, not found dead
    await waitForRun(api.base, id, (r) => r.status === 'running' && r.step > at + 5, 60_000);
    const r = await fetch(`${api.base}/v1/runs/${id}/cancel`, { method: 'POST' });
    expect(((await r.json()) as { status: string }).status).toBe('cancelled');
    const [row] = await query<{ attempts: number }>('SELECT attempts FROM runs WHERE id = $1', [id]);
    expect(row.attempts).toBe(1); // the graceful stop gave its attempt back
  }, 120_000);

  it('stops a run training on a worker when the api is asked to cancel it', async () => {
    const id = await postRun(api.base, { ...spec, steps: 100_000 });
    await waitForRun(api.base, id, (r) => r.status === 'running' && r.step > 10);
    const t0 = performance.now();
    const r = await fetch(`${api.base}/v1/runs/${id}/cancel`, { method: 'POST' });
    const ms = performance.now() - t0;
    expect(r.status).toBe(200);
    expect(((await r.json()) as { status: string }).status).toBe('cancelled');
    console.info(`cancel through the api of a run on a worker: ${Math.round(ms)} ms until it answered cancelled`);
    // the worker is free again: the next run trains
    const next = await postRun(api.base, { task: { name: 'majority' }, steps: 20 });
    expect((await waitForRun(api.base, next, (x) => x.status === 'succeeded')).status).toBe('succeeded');
  }, 120_000);
});
