// Backpressure over a real socket: a ws client that never reads watches a long run. The server's memory
// stays flat (its socket holds at most the send budget), step frames are conflated and say how many were
// skipped, and once the client reads again nothing is unaccounted for and the final status arrives.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { databaseOf, testApp } from '../helpers/app.js';
import { Frames } from '../helpers/ws.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const BUDGET = 64 * 1024;
/** Step events the run makes while memory is watched, and what they weigh: far above what may stay buffered. */
const WINDOW_STEPS = 12_000;
const MIN_WINDOW_BYTES = 20 * 1024 * 1024;
const MAX_GROWTH_BYTES = 8 * 1024 * 1024;

const dataDir = mkdtempSync(join(tmpdir(), 'unroll-backpressure-'));
let app: FastifyInstance;
let base: string;
beforeAll(async () => {
  app = await testApp({ dataDir, env: { UNROLL_WS_SEND_BUDGET: String(BUDGET) } });
  base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws');
});
afterAll(async () => {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const memory = () => {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
};
const stepOf = async (id: string): Promise<number> => (await app.inject({ url: `/v1/runs/${id}` })).json().step;
async function waitForStep(id: string, step: number): Promise<void> {
  await expect.poll(() => stepOf(id), { timeout: 60_000, interval: 100 }).toBeGreaterThanOrEqual(step);
}

it('keeps server memory flat while a client that never reads follows a long run', async () => {
  const created = await app.inject({
    method: 'POST',
    url: '/v1/runs',
    // long enough to outlast the test, short enough for UNROLL_RUN_MAX_LOG_BYTES (a step frame here is ~2.5 KB)
    payload: { task: { name: 'sign-of-sum', length: 100 }, steps: 200_000, batchSize: 1, hiddenEvery: 100 },
  });
  const id = created.json().id;
  const ws = new WebSocket(`${base}/v1/runs/${id}/events`);
  const frames = new Frames(ws);
  await new Promise((resolve) => ws.once('open', resolve));
  ws.pause(); // never reads: the kernel buffers fill, then the server's socket, up to the budget

  // past the point where the kernel's buffers are full
  await waitForStep(id, 3000);
  const before = memory();
  const from = await stepOf(id);
  await waitForStep(id, from + WINDOW_STEPS);
  const after = memory();
  const to = await stepOf(id);
  const { rows } = await sql<{ n: number }>`
    SELECT SUM(LENGTH(frame)) AS n FROM run_events WHERE run_id = ${id} AND step >= ${from} AND step < ${to}`.execute(
    databaseOf(app).kysely,
  );
  const windowBytes = Number(rows[0].n);
  expect(windowBytes).toBeGreaterThan(MIN_WINDOW_BYTES);
  expect(after - before).toBeLessThan(MAX_GROWTH_BYTES);
  for (const client of app.websocketServer.clients) expect(client.bufferedAmount).toBeLessThan(2 * BUDGET);

  // the client reads again; the run is cancelled: every step is delivered or counted, and the status arrives
  ws.resume();
  const cancelled = await app.inject({ method: 'POST', url: `/v1/runs/${id}/cancel` });
  const all = await frames.untilClosed();
  const steps = all.filter((f) => f.event === 'step');
  const skipped = steps.reduce((s, f) => s + (f.skipped ?? 0), 0);
  expect(skipped).toBeGreaterThan(0);
  expect(steps.length + skipped).toBe(cancelled.json().step);
  expect(steps.map((f) => f.step)).toEqual([...steps.map((f) => f.step)].sort((a, b) => a - b));
  expect(all.at(-1)).toMatchObject({ event: 'status', status: 'cancelled' });
});
