// Issue 12, item 4: the run log cap (UNROLL_RUN_MAX_LOG_BYTES) counts the whole log, across a resume. A
// run stopped mid-way (a graceful shutdown queues it again) resumes from its checkpoint in the next
// process; that process starts counting from the bytes the checkpoint recorded, not from zero, so a cap
// the whole log passes (but the part after the checkpoint alone does not) stops the run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open.js';
import { RunsRepo } from '../../src/db/runs.repo.js';
import { testApp } from '../helpers/app.js';

const apps: FastifyInstance[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const STEPS = 4000;
const EVERY = 100;
const spec = {
  model: { config: { inputSize: 1, hiddenSize: 32, outputSize: 2 }, init: { seed: 7 } },
  task: { name: 'sign-of-sum', length: 20 },
  steps: STEPS,
  batchSize: 16,
  seed: 5,
  hiddenEvery: 50,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(f: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 1200; i++) {
    const v = await f();
    if (v !== undefined) return v;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

it('keeps counting the log across a resume: the bytes before the checkpoint count against the cap', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'unroll-logcap-'));
  dirs.push(dataDir);
  const env = { UNROLL_RUN_CHECKPOINT_EVERY: String(EVERY), UNROLL_RUNS_CONCURRENCY: '1' };
  const first = await testApp({ dataDir, env });
  apps.push(first);
  const created = await first.inject({ method: 'POST', url: '/v1/runs', payload: spec });
  expect(created.statusCode, created.body).toBe(202);
  const id = created.json().id;
  // a third of the way or more, then a graceful stop: the run is queued again, to resume from its checkpoint
  await until(async () => {
    const r = (await first.inject({ url: `/v1/runs/${id}` })).json();
    return r.step >= STEPS / 3 ? r : undefined;
  }, 'a third of the steps');
  await first.close();
  apps.pop();

  const db = await openDatabase({ dataDir });
  const repo = new RunsRepo(db);
  const checkpoint = (await repo.checkpoint(id))!;
  expect((await repo.get(id))!.status).toBe('queued');
  expect(checkpoint.step).toBeGreaterThanOrEqual(STEPS / 4);
  // the checkpoint recorded the log's bytes up to it, as the log itself sums them
  const before = await repo.logBytes(id, checkpoint.step);
  expect(checkpoint.logBytes).toBe(before);
  await db.close();

  // a cap between what the steps after the checkpoint log (≈ the whole run's share of them) and the whole log
  const perStep = before / checkpoint.step;
  const after = perStep * (STEPS - checkpoint.step);
  const cap = Math.round(after + (perStep * STEPS - after) / 2);
  const second = await testApp({ dataDir, env: { ...env, UNROLL_RUN_MAX_LOG_BYTES: String(cap) } });
  apps.push(second);
  const end = await until(async () => {
    const r = (await second.inject({ url: `/v1/runs/${id}` })).json();
    return ['succeeded', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
  }, 'the resumed run to end');
  expect(end.status).toBe('failed');
  expect(end.reason).toContain('UNROLL_RUN_MAX_LOG_BYTES');
  // it stopped past its checkpoint, where the whole log reached the cap
  expect(end.step).toBeGreaterThan(checkpoint.step);
  expect(end.step).toBeLessThan(STEPS);
}, 120_000);
