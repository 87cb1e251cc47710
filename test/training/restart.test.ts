// A crash mid-run: the real server (npm start's entry, under tsx) trains on a SQLite file in a temp dir and
// is killed with SIGKILL. The next process marks the run failed with a reason, keeps its event log, and
// trains the run that was still queued.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { testApp } from '../helpers/app.js';
import { Frames, injectFrames } from '../helpers/ws.js';

const dataDir = mkdtempSync(join(tmpdir(), 'unroll-restart-'));
let child: ChildProcess | undefined;
let app: FastifyInstance | undefined;
afterAll(async () => {
  child?.kill('SIGKILL');
  await app?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts src/server.ts and resolves with its base URL once it listens. */
function startServer(): Promise<string> {
  child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      UNROLL_DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      UNROLL_RUNS_CONCURRENCY: '1',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child!.stdout!.on('data', (chunk) => {
      out += chunk;
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child!.once('exit', (code) => reject(new Error(`the server exited with ${code} before listening`)));
  });
}

it('marks a run that was training when the process died as failed, keeps its log, and re-queues queued runs', async () => {
  const base = await startServer();
  const start = async (body: object) => {
    const r = await fetch(`${base}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(r.status).toBe(202);
    return ((await r.json()) as { id: string }).id;
  };
  const running = await start({ task: { name: 'sign-of-sum', length: 5 }, steps: 1_000_000, batchSize: 4 });
  const queued = await start({ task: { name: 'majority' }, steps: 30 });
  const live = new Frames(new WebSocket(`${base.replace('http', 'ws')}/v1/runs/${running}/events`));
  await live.next((m) => m.event === 'step' && m.step >= 20, 'the run to train');
  child!.kill('SIGKILL');
  await new Promise((resolve) => child!.once('exit', resolve));
  child = undefined;

  app = await testApp({ dataDir });
  await app.ready();
  const run = (await app.inject({ url: `/v1/runs/${running}` })).json();
  expect(run.status).toBe('failed');
  expect(run.reason).toMatch(/server stopped while this run was training/);
  const log = await (await injectFrames(app, `/v1/runs/${running}/events`)).untilClosed();
  const steps = log.filter((f) => f.event === 'step').map((f) => f.step);
  expect(steps.length).toBeGreaterThanOrEqual(20);
  expect(steps).toEqual(steps.map((_, i) => i));
  expect(log.at(-1)).toMatchObject({ event: 'status', status: 'failed', reason: run.reason });

  // the queued run was not lost either: it trains in the new process
  await (await injectFrames(app, `/v1/runs/${queued}/events`)).untilClosed();
  expect((await app.inject({ url: `/v1/runs/${queued}` })).json().status).toBe('succeeded');
});

it('records a run that was training at a graceful shutdown as failed, with the reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'unroll-shutdown-'));
  const first = await testApp({ dataDir: dir });
  await first.ready();
  const id = (
    await first.inject({ method: 'POST', url: '/v1/runs', payload: { task: { name: 'parity' }, steps: 1_000_000 } })
  ).json().id;
  const live = await injectFrames(first, `/v1/runs/${id}/events`);
  await live.next((m) => m.event === 'step', 'the first step');
  await first.close();
  await live.untilClosed();
  const second = await testApp({ dataDir: dir });
  const run = (await second.inject({ url: `/v1/runs/${id}` })).json();
  expect(run.status).toBe('failed');
  expect(run.reason).toMatch(/shut down while this run was training/);
  await second.close();
  rmSync(dir, { recursive: true, force: true });
});
