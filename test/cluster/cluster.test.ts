// The cluster suite (npm run test:cluster): two api processes and two training workers as child processes on
// one PostgreSQL database of this suite's own and the shared Redis (a key prefix of its own), with nginx in
// front when /usr/sbin/nginx exists (the config is docker/nginx.conf with its upstreams and port replaced).
// Skipped, and said so, when PostgreSQL or Redis does not answer: never counted as passed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { dropRedisPrefix, redisAnswers } from '../helpers/own-redis.js';
import { type FreshDatabase, freshDatabase, pgReachable } from '../helpers/pg.js';
import { postRun, type ServerProcess, startServer, waitForRun } from '../helpers/server.js';
import { makeX, sliceT } from '../helpers/v2.js';
import { Frames } from '../helpers/ws.js';
import { NGINX, type Nginx, startNginx } from './nginx.js';

const REDIS_URL = process.env.UNROLL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const redisUp = await redisAnswers(REDIS_URL);
const pgUp = await pgReachable();
const up = redisUp && pgUp;
if (!up)
  console.warn(
    `CLUSTER SUITE SKIPPED: ${redisUp ? '' : `Redis does not answer at ${REDIS_URL}. `}${pgUp ? '' : 'PostgreSQL does not answer (UNROLL_TEST_DATABASE_URL or 127.0.0.1:5432). '}Its tests did not run and are not counted as passed.`,
  );

const prefix = `unroll-cluster-${Math.random().toString(36).slice(2, 10)}:`;
const dataDir = mkdtempSync(join(tmpdir(), 'unroll-cluster-'));
const servers: ServerProcess[] = [];
let db: FreshDatabase | null = null;
let nginx: Nginx | null = null;

const EVERY = 50;
const env = (role: 'api' | 'worker') => ({
  UNROLL_ROLE: role,
  UNROLL_DATA_DIR: dataDir,
  UNROLL_DATABASE_URL: db?.url ?? '',
  UNROLL_REDIS_URL: REDIS_URL,
  UNROLL_REDIS_PREFIX: prefix,
  UNROLL_RUNS_CONCURRENCY: '1',
  UNROLL_RUN_CHECKPOINT_EVERY: String(EVERY),
  UNROLL_RUN_STALL_SECONDS: '2',
  UNROLL_RUN_MAX_ATTEMPTS: '3',
  UNROLL_SUBMISSION_RATE_MAX: '3',
  UNROLL_SUBMISSION_RATE_WINDOW_MS: '60000',
  LOG_LEVEL: 'warn',
  // a budget no test reaches, so a follower under load gets every frame (nothing conflated)
  UNROLL_WS_SEND_BUDGET: String(256 * 1024 * 1024),
});
const start = async (role: 'api' | 'worker') => {
  const s = await startServer({ ...env(role), LOG_LEVEL: 'info' });
  servers.push(s);
  return s;
};

let A: ServerProcess;
let B: ServerProcess;
let W1: ServerProcess;
let W2: ServerProcess;
/** nginx in front of A and B, or A when nginx is not installed. */
let front: string;

beforeAll(async () => {
  if (!up) return;
  db = await freshDatabase('cluster');
  A = await start('api'); // first: it migrates the database the others open
  [B, W1, W2] = await Promise.all([start('api'), start('worker'), start('worker')]);
  nginx = await startNginx([A.base.replace('http://', ''), B.base.replace('http://', '')], join(dataDir, 'nginx'));
  if (!nginx) console.warn(`${NGINX} is not installed: the cluster suite talks to the api processes directly`);
  front = nginx?.base ?? A.base;
}, 240_000);

afterAll(async () => {
  await nginx?.stop();
  await Promise.all(servers.map((s) => s.kill()));
  rmSync(dataDir, { recursive: true, force: true });
  if (!up) return;
  await db?.drop();
  await dropRedisPrefix(REDIS_URL, prefix);
}, 60_000);

const json = async (base: string, path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') => {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the tests check the fields they read
  return { status: r.status, body: (await r.json().catch(() => null)) as any };
};
const flatten = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flatten) : [v as number]);
const maxDiff = (a: number[], b: number[]) => {
  expect(a.length).toBe(b.length);
  return Math.max(0, ...a.map((x, i) => Math.abs(x - b[i])));
};

describe.skipIf(!up)('two api processes and two workers on one PostgreSQL and one Redis', () => {
  it('every process is ready; workers serve only health, readiness and metrics', async () => {
    for (const s of [A, B, W1, W2]) expect((await fetch(`${s.base}/ready`)).status).toBe(200);
    expect((await fetch(`${W1.base}/v1/models`)).status).toBe(404);
  });

  it('1. a model stored through A is computed on B; weights PUT through B are what A computes with next', async () => {
    const made = await json(A.base, '/v1/models', {
      name: 'cluster-sheet',
      config: { inputSize: 3, hiddenSize: 6, outputSize: 4 },
      init: { seed: 11 },
    });
    expect(made.status).toBe(201);
    const x = makeX(2, 5, 3);
    const onA = await json(A.base, `/v1/models/${made.body.id}/forward`, { x });
    const onB = await json(B.base, `/v1/models/${made.body.id}/forward`, { x });
    expect(onB.status).toBe(200);
    expect(onB.body.y).toEqual(onA.body.y);
    const viaLb = await json(front, '/v1/models/cluster-sheet/forward', { x });
    expect(viaLb.body.y).toEqual(onA.body.y);
    // another model's weights, PUT through B, are what A computes with on its next request
    const other = await json(A.base, '/v1/models', {
      config: { inputSize: 3, hiddenSize: 6, outputSize: 4 },
      init: { seed: 12 },
    });
    const weights = (await json(A.base, `/v1/models/${other.body.id}`)).body.weights;
    expect(weights).toBeTruthy();
    const put = await json(B.base, `/v1/models/${made.body.id}/weights`, weights, 'PUT');
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const afterPut = await json(A.base, `/v1/models/${made.body.id}/forward`, { x });
    const otherOnB = await json(B.base, `/v1/models/${other.body.id}/forward`, { x });
    expect(afterPut.body.y).toEqual(otherOnB.body.y);
    expect(afterPut.body.y).not.toEqual(onA.body.y);
  });

  it('5. a /v2 sequence continued alternately on A and B gives the numbers of one /v1 forward (1e-12)', async () => {
    const made = await json(A.base, '/v1/models', {
      config: { inputSize: 3, hiddenSize: 6, outputSize: 4 },
      init: { seed: 5 },
    });
    const id = made.body.id;
    const T = 8;
    const x = makeX(2, T, 3, 9);
    const full = await json(A.base, `/v1/models/${id}/forward`, { x });
    let hT: number[] = [];
    let y: number[] = [];
    for (let t = 0; t < T; t++) {
      const base = t % 2 ? B.base : A.base;
      const chunk = sliceT(x, t, t + 1);
      const r = await json(base, `/v2/models/${id}/infer`, {
        parameters: { sequence_id: 'cluster-seq', sequence_start: t === 0, sequence_end: t === T - 1 },
        inputs: [{ name: 'x', shape: [2, 1, 3], datatype: 'FP64', data: chunk }],
        outputs: [{ name: 'y' }, { name: 'hT' }],
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const out = Object.fromEntries(r.body.outputs.map((o: { name: string; data: number[] }) => [o.name, o.data]));
      hT = out.hT;
      y = out.y;
    }
    expect(maxDiff(hT, flatten(full.body.hT))).toBeLessThan(1e-12);
    expect(maxDiff(y, flatten(full.body.y))).toBeLessThan(1e-12);
    // it ended on B: A no longer knows it
    const after = await json(A.base, `/v2/models/${id}/infer`, {
      parameters: { sequence_id: 'cluster-seq' },
      inputs: [{ name: 'x', shape: [2, 1, 3], datatype: 'FP64', data: sliceT(x, 0, 1) }],
    });
    expect(after.status).toBe(400);
  });

  it('5. a stream session continued on two replicas (a socket on A, one on B, chunks alternating) gives the numbers of one /v1 forward (1e-12)', async () => {
    const made = await json(A.base, '/v1/models', {
      config: { inputSize: 3, hiddenSize: 6, outputSize: 4, readout: 'all' },
      init: { seed: 8 },
    });
    const id = made.body.id;
    const T = 7;
    const B2 = 2;
    const x = makeX(B2, T, 3, 4);
    const full = await json(A.base, `/v1/models/${id}/forward`, { x });
    const onA = new Frames(new WebSocket(`${A.base.replace('http', 'ws')}/v1/stream`));
    const onB = new Frames(new WebSocket(`${B.base.replace('http', 'ws')}/v1/stream`));
    await Promise.all([onA, onB].map((f) => new Promise((r) => f.ws.once('open', r))));
    onA.send({ op: 'sequence', id: 's', modelId: id, sequenceId: 'cluster-stream' });
    expect((await onA.next((f) => f.id === 's')).event).toBe('sequence_open');
    // chunks of 2, 1, 3, 1 steps: A, B, A, B
    const cuts = [0, 2, 3, 6, 7];
    const ys: number[][][][] = [];
    let hT: unknown = null;
    for (let k = 0; k + 1 < cuts.length; k++) {
      const f = k % 2 ? onB : onA;
      if (k === 1) {
        onB.send({ op: 'sequence', id: 's', modelId: id, sequenceId: 'cluster-stream', start: false });
        expect((await onB.next((fr) => fr.id === 's')).event).toBe('sequence_open');
      }
      f.send({ op: 'feed', id: 's', x: sliceT(x, cuts[k], cuts[k + 1]), end: k + 2 === cuts.length });
      const result = await f.next((fr) => fr.id === 's' && (fr.event === 'result' || fr.event === 'error'));
      expect(result.event, JSON.stringify(result)).toBe('result');
      ys.push(result.y);
      hT = result.hT;
    }
    // y (B, T, C): the chunks' steps side by side equal the one forward's
    const y = Array.from({ length: B2 }, (_, b) => ys.flatMap((chunk) => chunk[b]));
    expect(maxDiff(flatten(y), flatten(full.body.y))).toBeLessThan(1e-12);
    expect(maxDiff(flatten(hT), flatten(full.body.hT))).toBeLessThan(1e-12);
    onA.ws.close();
    onB.ws.close();
  });

  it('5. chunks of one /v2 sequence racing on A and B: a loser gets 503 (409 under /v1) and the state is always one of the applied orders', async () => {
    const made = await json(A.base, '/v1/models', {
      config: { inputSize: 3, hiddenSize: 6, outputSize: 4 },
      init: { seed: 9 },
    });
    const id = made.body.id;
    const infer = (base: string, seq: string, data: unknown, start = false) =>
      json(base, `/v2/models/${id}/infer`, {
        parameters: { sequence_id: seq, sequence_start: start },
        inputs: [{ name: 'x', shape: [2, 2, 3], datatype: 'FP64', data }],
        outputs: [{ name: 'hT' }],
      });
    const hTOf = (r: { body: { outputs: { name: string; data: number[] }[] } }) =>
      r.body.outputs.find((o) => o.name === 'hT')!.data;
    const nested = (flat: number[]) => [flat.slice(0, 6), flat.slice(6, 12)];
    /** hT of x from h0, by one stateless forward on the same model. */
    const from = async (h0: number[], xs: unknown) =>
      flatten((await json(A.base, `/v1/models/${id}/forward`, { x: xs, h0: nested(h0) })).body.hT);
    const close = (a: number[], b: number[]) => maxDiff(a, b) < 1e-12;
    let collisions = 0;
    for (let trial = 0; trial < 8; trial++) {
      const seq = `race-${trial}`;
      const x0 = makeX(2, 2, 3, 100 + trial);
      const [xa, xb, xc] = [makeX(2, 2, 3, 200 + trial), makeX(2, 2, 3, 300 + trial), makeX(2, 2, 3, 400 + trial)];
      const first = await infer(A.base, seq, x0, true);
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      const h0 = hTOf(first);
      const [ra, rb] = await Promise.all([infer(A.base, seq, xa), infer(B.base, seq, xb)]);
      for (const r of [ra, rb]) expect([200, 503], JSON.stringify(r.body)).toContain(r.status);
      const won = [
        [ra, xa],
        [rb, xb],
      ].filter(([r]) => (r as typeof ra).status === 200) as [typeof ra, unknown][];
      expect(won.length, 'at least one of two racing chunks applies').toBeGreaterThan(0);
      let state: number[];
      if (won.length === 1) {
        collisions++;
        const loser = ra.status === 200 ? rb : ra;
        // /v2 speaks the Open Inference Protocol: {"error"}, saying to send it again
        expect(loser.body.error).toMatch(/send it again|try again|retry/i);
        // the winner ran from the state before the race, and the loser left no trace
        state = hTOf(won[0][0]);
        expect(close(state, await from(h0, won[0][1]))).toBe(true);
      } else {
        // both applied: one after the other, each from the state the other left (never both from h0)
        const [a, b] = [hTOf(ra), hTOf(rb)];
        const aThenB = close(a, await from(h0, xa)) && close(b, await from(a, xb));
        const bThenA = close(b, await from(h0, xb)) && close(a, await from(b, xa));
        expect(aThenB || bThenA, 'two chunks applied to the same state').toBe(true);
        state = aThenB ? b : a;
      }
      // the sequence goes on from exactly that state, on either replica
      const after = await infer(trial % 2 ? A.base : B.base, seq, xc);
      expect(after.status).toBe(200);
      expect(close(hTOf(after), await from(state, xc))).toBe(true);
    }
    console.info(`cluster: ${collisions} of 8 racing pairs collided (one got 503); the others ran one after the other`);
  });

  it('6. the per-student submission rate limit counts across A and B', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const base = i % 2 ? B.base : A.base;
      const r = await fetch(`${base}/v1/assignments/none/submissions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer same-student-token' },
        body: JSON.stringify({ student: 'alice', answers: {} }),
      });
      statuses.push(r.status);
    }
    // UNROLL_SUBMISSION_RATE_MAX = 3 in all, not 3 per process
    expect(statuses.slice(0, 3).every((s) => s !== 429)).toBe(true);
    expect(statuses.slice(3)).toEqual([429, 429]);
  });

  it('2-4. a run posted through the front trains on one worker, is followed on B with ?since= exactly once, survives a SIGKILL of its worker bit for bit, and a cancel through B stops another', async () => {
    const spec = {
      model: { config: { inputSize: 1, hiddenSize: 16, outputSize: 2, readout: 'last' }, init: { seed: 7 } },
      task: { name: 'sign-of-sum', length: 12 },
      optimizer: { name: 'adam', lr: 0.003 },
      steps: 600,
      batchSize: 8,
      seed: 5,
    };
    const id = await postRun(front, spec);
    const watcher = new Frames(new WebSocket(`${B.base.replace('http', 'ws')}/v1/runs/${id}/events`));
    await waitForRun(A.base, id, (r) => r.step >= 2 * EVERY + 10);
    // the worker that trains it: the one whose /metrics counts a running run
    const running = async (w: ServerProcess) =>
      /unroll_runs\{status="running"\} 1/.test(await (await fetch(`${w.base}/metrics`)).text());
    const [r1, r2] = [await running(W1), await running(W2)];
    expect(r1 !== r2, 'exactly one worker trains the run').toBe(true);
    const victim = r1 ? W1 : W2;
    await victim.kill();
    const run = await waitForRun(A.base, id, (r) => r.status === 'succeeded' || r.status === 'failed', 180_000);
    expect(run.status, JSON.stringify(run)).toBe('succeeded');
    const frames = await watcher.untilClosed();
    // soft: a gap here is reported, and the rest (the log, the weights, the late follower, cancel) still runs
    expect
      .soft(frames.filter((f) => f.event === 'step').map((f) => f.step))
      .toEqual(Array.from({ length: spec.steps }, (_, i) => i));
    // a late follower on B from the middle: every step after S once
    const late = await new Frames(
      new WebSocket(`${B.base.replace('http', 'ws')}/v1/runs/${id}/events?since=300`),
    ).untilClosed();
    expect(late.filter((f) => f.event === 'step').map((f) => f.step)).toEqual(
      Array.from({ length: spec.steps - 301 }, (_, i) => i + 301),
    );

    // the same run uninterrupted: the same weights bit for bit
    const refId = await postRun(front, spec);
    const ref = await waitForRun(A.base, refId, (r) => r.status === 'succeeded' || r.status === 'failed', 180_000);
    expect(ref.status).toBe('succeeded');
    const c = new pg.Client({ connectionString: db!.url });
    await c.connect();
    const w = async (m: string) =>
      // the weights' rows of blob_chunks (migration 008), in order
      (
        await c.query(
          "SELECT string_agg(c.data, ''::bytea ORDER BY c.idx) AS weights FROM models m JOIN blob_chunks c ON c.blob_id = m.weights_id WHERE m.id = $1",
          [m],
        )
      ).rows[0].weights as Buffer;
    const same = (await w(run.modelId)).equals(await w(ref.modelId));
    await c.end();
    expect(same).toBe(true);

    // restart the killed worker's place, then cancel a long run through B
    const fresh = await start('worker');
    if (victim === W1) W1 = fresh;
    else W2 = fresh;
    const longId = await postRun(A.base, { ...spec, steps: 100_000, hiddenEvery: 1000 });
    await waitForRun(A.base, longId, (r) => r.status === 'running' && r.step > 10, 60_000);
    const t0 = performance.now();
    const cancelled = await json(B.base, `/v1/runs/${longId}/cancel`, {});
    const ms = performance.now() - t0;
    expect(cancelled.body.status).toBe('cancelled');
    const at = (await json(A.base, `/v1/runs/${longId}`)).body.step;
    await new Promise((r) => setTimeout(r, 1500));
    expect((await json(A.base, `/v1/runs/${longId}`)).body.step).toBe(at); // it does not move on
    console.info(`cluster: cancel through B of a run on a worker answered cancelled in ${Math.round(ms)} ms`);
  }, 400_000);
});
