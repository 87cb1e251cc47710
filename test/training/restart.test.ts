// A crash mid-run: the real server trains on a SQLite file in a temp dir and is killed with SIGKILL after at
// least one checkpoint. The next process resumes the run from its last checkpoint; it ends with the weights
// (Float64 bytes) of an uninterrupted run of the same spec, and its log holds each step once. A run whose
// process dies UNROLL_RUN_MAX_ATTEMPTS times is failed with the reason; a graceful shutdown queues a run
// again (not counted as an attempt); queued runs are not lost.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { DB_FILE } from '../../src/db/open.js';
import { testApp } from '../helpers/app.js';
import { postRun, type ServerProcess, startServer, waitForRun } from '../helpers/server.js';
import { Frames, injectFrames } from '../helpers/ws.js';

const dirs: string[] = [];
const servers: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'unroll-restart-'));
  dirs.push(d);
  return d;
};
const start = async (env: Record<string, string>) => {
  const s = await startServer(env);
  servers.push(s);
  return s;
};

const EVERY = 100;
const STEPS = 3000;
/** Long enough (a few seconds) that the kill lands mid-run, after several checkpoints. */
const spec = {
  model: {
    config: { inputSize: 1, hiddenSize: 32, outputSize: 2, readout: 'last' },
    init: { seed: 7 },
  },
  task: { name: 'sign-of-sum', length: 20 },
  optimizer: { name: 'adam', lr: 0.003, amsgrad: true },
  steps: STEPS,
  batchSize: 16,
  clipNorm: 1,
  seed: 5,
  hiddenEvery: 50,
};

function readLog(dataDir: string, id: string) {
  const db = new Database(join(dataDir, DB_FILE));
  try {
    const events = db
      .prepare<[string], { step: number; kind: string; frame: string }>(
        'SELECT step, kind, frame FROM run_events WHERE run_id = ? ORDER BY seq',
      )
      .all(id);
    const checkpoint = db
      .prepare<[string], { step: number }>('SELECT step FROM run_checkpoints WHERE run_id = ?')
      .get(id);
    // the weights are rows of blob_chunks (migration 008), in order
    const rows = db
      .prepare<[], { id: string; data: Buffer }>(
        'SELECT m.id, c.data FROM models m JOIN blob_chunks c ON c.blob_id = m.weights_id ORDER BY m.id, c.idx',
      )
      .all();
    const models = new Map<string, Buffer>();
    for (const r of rows) models.set(r.id, Buffer.concat([models.get(r.id) ?? Buffer.alloc(0), r.data]));
    return { events, checkpoint, model: (modelId: string) => models.get(modelId)! };
  } finally {
    db.close();
  }
}

it('resumes a run killed with SIGKILL from its last checkpoint: the same weights bit for bit, each step once', async () => {
  const dataDir = tempDir();
  const env = {
    UNROLL_DATA_DIR: dataDir,
    UNROLL_RUNS_CONCURRENCY: '1',
    UNROLL_RUN_CHECKPOINT_EVERY: String(EVERY),
  };
  const first = await start(env);
  const id = await postRun(first.base, spec);
  const queued = await postRun(first.base, { task: { name: 'majority' }, steps: 30 });
  await waitForRun(first.base, id, (r) => r.step >= 3 * EVERY + 50);
  const killedAt = performance.now();
  await first.kill();

  const before = readLog(dataDir, id);
  const lastStep = Math.max(...before.events.filter((e) => e.kind === 'step').map((e) => e.step));
  expect(before.checkpoint!.step).toBeGreaterThanOrEqual(3 * EVERY);
  expect(lastStep).toBeLessThan(STEPS - 1); // killed mid-run
  const recomputed = lastStep + 1 - before.checkpoint!.step;
  expect(recomputed).toBeGreaterThanOrEqual(0); // 0 when the kill came right after a checkpoint
  expect(recomputed).toBeLessThanOrEqual(EVERY);

  const second = await start(env);
  const live = new Frames(new WebSocket(`${second.base.replace('http', 'ws')}/v1/runs/${id}/events?since=${lastStep}`));
  const firstNew = await live.next((f) => f.event === 'step', 'the first step after the kill');
  const killToNewStepMs = performance.now() - killedAt;
  expect(firstNew.step).toBe(lastStep + 1);
  const resumed = await waitForRun(second.base, id, (r) => r.status !== 'running' && r.status !== 'queued');
  expect(resumed).toMatchObject({ status: 'succeeded', step: STEPS });
  const replay = await live.untilClosed();
  expect(replay.filter((f) => f.event === 'step').map((f) => f.step)).toEqual(
    Array.from({ length: STEPS - lastStep - 1 }, (_, i) => lastStep + 1 + i),
  );
  // the run that was queued behind it was not lost either
  expect((await waitForRun(second.base, queued, (r) => r.status === 'succeeded')).status).toBe('succeeded');

  // the same spec, uninterrupted, in the same process and database
  const refId = await postRun(second.base, spec);
  const ref = await waitForRun(second.base, refId, (r) => r.status === 'succeeded' || r.status === 'failed');
  expect(ref.status).toBe('succeeded');
  expect(resumed.evaluation).toEqual(ref.evaluation);
  await second.kill();

  const after = readLog(dataDir, id);
  const reference = readLog(dataDir, refId);
  expect(after.model(resumed.modelId).equals(reference.model(ref.modelId))).toBe(true);
  expect(after.checkpoint).toBeUndefined(); // dropped once the run is final
  const steps = after.events.filter((e) => e.kind === 'step');
  expect(steps.map((e) => e.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i));
  // every frame, recomputed or not, is the uninterrupted run's
  const frames = (log: typeof after.events, kind: string) => log.filter((e) => e.kind === kind).map((e) => e.frame);
  expect(frames(after.events, 'step')).toEqual(frames(reference.events, 'step'));
  expect(frames(after.events, 'hidden')).toEqual(frames(reference.events, 'hidden'));
  const statuses = after.events.filter((e) => e.kind === 'status').map((e) => JSON.parse(e.frame));
  expect(statuses.map((s) => s.status)).toEqual(['queued', 'running', 'queued', 'running', 'succeeded']);
  expect(statuses[2].reason).toMatch(
    new RegExp(`at step ${lastStep + 1}\\); it resumes from step ${before.checkpoint!.step} \\(attempt 2 of 3\\)`),
  );
  console.info(
    `resume after SIGKILL: ${recomputed} steps recomputed (checkpoint every ${EVERY}), ${Math.round(killToNewStepMs)} ms from the kill to the first new step (a process start included)`,
  );
}, 180_000);

it('fails a run whose process died UNROLL_RUN_MAX_ATTEMPTS times, with the reason', async () => {
  const dataDir = tempDir();
  const env = {
    UNROLL_DATA_DIR: dataDir,
    UNROLL_RUNS_CONCURRENCY: '1',
    UNROLL_RUN_CHECKPOINT_EVERY: '20',
    UNROLL_RUN_MAX_ATTEMPTS: '2',
  };
  let s = await start(env);
  const id = await postRun(s.base, { ...spec, steps: 100_000 });
  await waitForRun(s.base, id, (r) => r.step >= 40);
  await s.kill();
  s = await start(env);
  // the second attempt trains past where the first died
  const killedAt = (await waitForRun(s.base, id, () => true)).step;
  await waitForRun(s.base, id, (r) => r.status === 'running' && r.step > killedAt);
  await s.kill();
  s = await start(env);
  const run = await waitForRun(s.base, id, (r) => r.status === 'failed');
  expect(run.reason).toMatch(
    /stopped while this run was training, 2 times \(UNROLL_RUN_MAX_ATTEMPTS = 2\), the last at step \d+/,
  );
  await s.kill();
}, 120_000);

it('queues a run that was training at a graceful shutdown again, and the next start resumes it', async () => {
  const dir = tempDir();
  const env = { UNROLL_RUN_CHECKPOINT_EVERY: '10' };
  const first = await testApp({ dataDir: dir, env });
  await first.ready();
  const id = (await first.inject({ method: 'POST', url: '/v1/runs', payload: { ...spec, steps: 100_000 } })).json().id;
  const live = await injectFrames(first, `/v1/runs/${id}/events`);
  await live.next((m) => m.event === 'step' && m.step >= 25, 'a checkpoint');
  await first.close();
  // the sockets close first at a shutdown: the queued status is in the log, read below
  const frames = await live.untilClosed();
  const second = await testApp({ dataDir: dir, env });
  await second.ready();
  const since = frames.filter((f) => f.event === 'step').at(-1)!.step;
  const log = await injectFrames(second, `/v1/runs/${id}/events`);
  const paused = await log.next((f) => f.event === 'status' && f.status === 'queued' && f.reason, 'the pause');
  expect(paused.reason).toMatch(/shut down while this run was training \(at step \d+\); it resumes from step \d+0$/);
  const next = await injectFrames(second, `/v1/runs/${id}/events?since=${since}`);
  expect((await next.next((f) => f.event === 'step', 'a resumed step')).step).toBe(since + 1);
  expect((await second.inject({ url: `/v1/runs/${id}` })).json().status).toBe('running');
  await second.inject({ method: 'POST', url: `/v1/runs/${id}/cancel` });
  await second.close();
});
