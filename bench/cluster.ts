// `npm run bench:cluster`: the distributed mode measured with real processes on the shared PostgreSQL and
// Redis (UNROLL_TEST_DATABASE_URL / UNROLL_TEST_REDIS_URL, default 127.0.0.1), with the cluster suite's
// helpers: api replicas and workers are `src/server.ts` child processes on a fresh database and a key prefix
// of their own (both removed afterwards).
//   (a) fan-out: step frames/s delivered to F followers per replica (WebSocket /v1/runs/:id/events) of one
//       run, on 1, 2 and 4 api replicas, in total;
//   (b) the delay from the worker's commit of a step to its arrival at a follower on an api replica: a probe
//       process (this file with --probe) subscribes to the run's Redis channel, which the worker publishes to
//       right after the commit, and follows the run on a replica; delay = WebSocket arrival − Redis arrival,
//       one clock. Measured while the fan-out of (a) with 4 replicas runs;
//   (c) resume: SIGKILL of the worker mid-run, steps recomputed (from the checkpoint to the last committed
//       step) and the time from the kill to the first new step at a follower;
//   (d) POST /v1/forward (the sheet's size) req/s through 1 api replica and through 2 (autocannon, one
//       instance per replica, the same connections in all).
//   npm run bench:cluster [-- --seconds 5 --followers 50 --stall 2 --replicas 1,2,4]
//   profiling the api processes: -- --only fanout --replicas 1 --cpu-prof /tmp/prof (V8 .cpuprofile files)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';
import { WebSocket } from 'ws';
import { redisAnswers } from '../test/helpers/own-redis.js';
import { freshDatabase, pgReachable } from '../test/helpers/pg.js';
import { postRun, type ServerProcess, startServer, waitForRun } from '../test/helpers/server.js';

const args = process.argv.slice(2);
const opt = (name: string, d: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const REDIS_URL = process.env.UNROLL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const load = () =>
  execFileSync('uptime')
    .toString()
    .trim()
    .replace(/^.*load/, 'load');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

// A small run that steps as fast as a worker can: the fan-out is the point, not the training.
const FAST_RUN = {
  model: { config: { inputSize: 1, hiddenSize: 4, outputSize: 2, readout: 'last' }, init: { seed: 1 } },
  task: { name: 'sign-of-sum', length: 4 },
  optimizer: { name: 'sgd', lr: 0.01 },
  batchSize: 1,
  hiddenEvery: 1_000_000,
  seed: 3,
};

if (args[0] === '--probe') await probe(args[1], args[2], args[3], Number(args[4]));
else await main();

/** The probe process: Redis arrival and WebSocket arrival of each step, on one clock; prints the delays (ms). */
async function probe(redisUrl: string, channel: string, runUrl: string, seconds: number) {
  const sub = new Redis(redisUrl);
  const seen = new Map<number, number>();
  const delays: number[] = [];
  sub.on('message', (_c: string, text: string) => {
    const now = performance.now();
    const m = JSON.parse(text) as { events?: { step: number; kind: string }[] };
    for (const e of m.events ?? []) if (e.kind === 'step') seen.set(e.step, now);
  });
  await sub.subscribe(channel);
  // from the step the run is at: a replay would come first, and its frames are not timed
  const at = ((await (await fetch(runUrl)).json()) as { step: number }).step;
  const ws = new WebSocket(`${runUrl.replace('http', 'ws')}/events?since=${at}`);
  let stop = false;
  ws.on('message', (data: Buffer) => {
    if (stop) return;
    const now = performance.now();
    const m = /"step":(\d+)/.exec(data.toString('latin1', 0, 64));
    if (!m) return;
    const t = seen.get(Number(m[1]));
    if (t !== undefined) {
      delays.push(now - t);
      seen.delete(Number(m[1]));
    }
  });
  await new Promise((r) => ws.once('open', r));
  await sleep(seconds * 1000);
  stop = true;
  ws.close();
  sub.disconnect();
  process.stdout.write(`${JSON.stringify(delays)}\n`);
}

async function main() {
  const SECONDS = opt('--seconds', 5);
  const FOLLOWERS = opt('--followers', 50);
  const STALL = opt('--stall', 2);
  const EVERY = 100;
  if (!(await redisAnswers(REDIS_URL)) || !(await pgReachable())) {
    console.error(`bench:cluster needs PostgreSQL (UNROLL_TEST_DATABASE_URL) and Redis (${REDIS_URL}): not run`);
    process.exit(1);
  }
  const prefix = `unroll-bench-${Math.random().toString(36).slice(2, 10)}:`;
  const dataDir = mkdtempSync(join(tmpdir(), 'unroll-bench-cluster-'));
  const db = await freshDatabase('bench');
  const servers: ServerProcess[] = [];
  const env = (role: 'api' | 'worker') => ({
    UNROLL_ROLE: role,
    UNROLL_DATA_DIR: dataDir,
    UNROLL_DATABASE_URL: db.url,
    UNROLL_REDIS_URL: REDIS_URL,
    UNROLL_REDIS_PREFIX: prefix,
    UNROLL_RUNS_CONCURRENCY: '1',
    UNROLL_RUN_CHECKPOINT_EVERY: String(EVERY),
    UNROLL_RUN_STALL_SECONDS: String(STALL),
    LOG_LEVEL: 'warn',
  });
  // --cpu-prof DIR: the api processes write V8 CPU profiles there (they are stopped with SIGTERM to write them)
  const profDir = args.includes('--cpu-prof') ? args[args.indexOf('--cpu-prof') + 1] : null;
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
  const start = async (role: 'api' | 'worker') => {
    const prof = profDir && role === 'api' ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
    const s = await startServer({ ...env(role), LOG_LEVEL: 'info' }, prof);
    servers.push(s);
    return s;
  };
  const rows: [string, string, string][] = [];
  const row = (what: string, figure: string) => {
    const l = load();
    rows.push([what, figure, l]);
    console.log(`${what}: ${figure}   (${l})`);
  };
  try {
    const first = await start('api'); // it migrates the database the others open
    const apis = [first, ...(await Promise.all([start('api'), start('api'), start('api')]))];
    const workers = await Promise.all([start('worker'), start('worker')]);

    // (a) and (b): one long run, followed by F sockets on each of the first R replicas
    // a run of the most steps allowed; a phase that finds it ended (at 15 000 steps/s it lasts a minute) starts another
    let runId = '';
    const freshRun = async () => {
      runId = await postRun(first.base, { ...FAST_RUN, steps: 1_000_000 });
      await waitForRun(first.base, runId, (r) => r.status === 'running' && r.step > 100, 120_000);
    };
    const ensureRunning = async () => {
      const r = (await (await fetch(`${first.base}/v1/runs/${runId}`)).json()) as { status: string; step: number };
      if (r.status !== 'running' || r.step > 700_000) await freshRun();
    };
    await freshRun();
    const stepRate = async (ms: number) => {
      const a = (await (await fetch(`${first.base}/v1/runs/${runId}`)).json()) as { step: number };
      const t = performance.now();
      await sleep(ms);
      const b = (await (await fetch(`${first.base}/v1/runs/${runId}`)).json()) as { step: number };
      return ((b.step - a.step) * 1000) / (performance.now() - t);
    };
    row('steps/s of the run, no follower', (await stepRate(3000)).toFixed(0));
    const startProbe = (api: ServerProcess) =>
      new Promise<number[]>((resolve, reject) => {
        const p = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            'bench/cluster.ts',
            '--probe',
            REDIS_URL,
            `${prefix}run:${runId}`,
            `${api.base}/v1/runs/${runId}`,
            String(SECONDS + 1.5),
          ],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        let out = '';
        p.stdout!.on('data', (d) => (out += d));
        p.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`probe: ${code}`))));
      });
    const delayRow = (what: string, delays: number[]) =>
      row(
        what,
        `p50 ${pct(delays, 50).toFixed(1)} ms, p99 ${pct(delays, 99).toFixed(1)} ms, max ${Math.max(...delays).toFixed(1)} ms (${delays.length} steps)`,
      );
    // CPU of each process over a window (utime + stime, /proc/<pid>/stat, clock ticks of 10 ms)
    const ticks = (pid: number | undefined) => {
      try {
        const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
        return (Number(f[11]) + Number(f[12])) * 10;
      } catch {
        return 0;
      }
    };
    const cpu = () => ({
      self: process.cpuUsage(),
      apis: apis.map((a) => ticks(a.child.pid)),
      workers: workers.map((w) => ticks(w.child.pid)),
    });
    const cpuSince = (c0: ReturnType<typeof cpu>, secs: number, R: number) => {
      const c1 = cpu();
      const self = process.cpuUsage(c0.self);
      const pc = (ms: number) => `${((ms / 10 / secs) | 0).toString()}%`;
      return `CPU: followers' process ${pc((self.user + self.system) / 1000)}, api ${apis
        .slice(0, R)
        .map((_, i) => pc(c1.apis[i] - c0.apis[i]))
        .join(' ')}, worker ${pc(Math.max(...workers.map((_, i) => c1.workers[i] - c0.workers[i])))}`;
    };

    await ensureRunning();
    delayRow('commit → follower, no other follower', await startProbe(apis[1]));
    const REPLICAS = (args.includes('--replicas') ? args[args.indexOf('--replicas') + 1] : '1,2,4')
      .split(',')
      .map(Number);
    for (const R of REPLICAS) {
      await ensureRunning();
      const now = ((await (await fetch(`${first.base}/v1/runs/${runId}`)).json()) as { step: number }).step;
      let frames = 0;
      let skipped = 0;
      let counting = false;
      const sockets: WebSocket[] = [];
      for (let r = 0; r < R; r++)
        for (let f = 0; f < FOLLOWERS; f++) {
          const ws = new WebSocket(`${apis[r].base.replace('http', 'ws')}/v1/runs/${runId}/events?since=${now}`);
          ws.on('message', (data: Buffer) => {
            if (!counting) return;
            frames++;
            if (data[2] === 0x73 /* {"skipped": */)
              skipped += Number(/^\{"skipped":(\d+)/.exec(data.toString('latin1', 0, 24))?.[1] ?? 0);
          });
          sockets.push(ws);
        }
      await Promise.all(sockets.map((ws) => new Promise((r) => ws.once('open', r))));
      await sleep(1500); // the replays are done, every socket follows live
      // a probe on the last replica in use, among its F followers; the worker is another process
      const probeRun = startProbe(apis[R - 1]);
      await sleep(1500); // the probe process starts (tsx) and follows live
      const before = ((await (await fetch(`${first.base}/v1/runs/${runId}`)).json()) as { step: number }).step;
      const c0 = cpu();
      const t0 = performance.now();
      counting = true;
      await sleep(SECONDS * 1000);
      counting = false;
      const secs = (performance.now() - t0) / 1000;
      const used = cpuSince(c0, secs, R);
      const after = ((await (await fetch(`${first.base}/v1/runs/${runId}`)).json()) as { step: number }).step;
      const delays = await probeRun;
      const state = (await (await fetch(`${first.base}/v1/runs/${runId}`)).json()) as { status: string };
      if (state.status !== 'running') console.log(`the run is ${state.status}: ${JSON.stringify(state)}`);
      for (const ws of sockets) ws.terminate();
      const n = R * FOLLOWERS;
      const steps = (after - before) / secs;
      row(
        `fan-out, ${R} api replica${R > 1 ? 's' : ''} × ${FOLLOWERS} followers`,
        `${(frames / secs).toFixed(0)} deliveries/s (the run made ${steps.toFixed(0)} steps/s: ${(steps * n).toFixed(0)} to deliver; ${skipped} conflated); ${used}`,
      );
      delayRow(`commit → follower, ${R} replica${R > 1 ? 's' : ''} × ${FOLLOWERS} followers`, delays);
      await sleep(1000);
    }
    await fetch(`${first.base}/v1/runs/${runId}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });

    if (only === 'fanout') return;
    // (c) resume after a SIGKILL of the worker that trains the run
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const resumeId = await postRun(first.base, {
        ...FAST_RUN,
        model: { config: { inputSize: 1, hiddenSize: 16, outputSize: 2, readout: 'last' }, init: { seed: 1 } },
        task: { name: 'sign-of-sum', length: 12 },
        batchSize: 8,
        steps: 100_000,
      });
      await waitForRun(first.base, resumeId, (r) => r.status === 'running' && r.step > 3 * EVERY + 37, 120_000);
      // every step frame after the kill, with its arrival: the first one past the last committed step is new
      let killedAt = 0;
      const arrivals: [number, number][] = [];
      const follower = new WebSocket(`${apis[1].base.replace('http', 'ws')}/v1/runs/${resumeId}/events`);
      follower.on('message', (data: Buffer) => {
        if (!killedAt || !data.toString('latin1', 0, 24).includes('"event":"step"')) return;
        const m = /"step":(\d+)/.exec(data.toString('latin1', 0, 64));
        if (m) arrivals.push([Number(m[1]), performance.now()]);
      });
      await new Promise((r) => follower.once('open', r));
      await sleep(1500);
      const running = async (w: ServerProcess) =>
        /unroll_runs\{status="running"\} 1/.test(await (await fetch(`${w.base}/metrics`)).text());
      const victim = (await running(workers[0])) ? workers[0] : workers[1];
      // mid-interval, so that there is something to recompute
      await waitForRun(
        first.base,
        resumeId,
        (r) => r.step % EVERY > 0.4 * EVERY && r.step % EVERY < 0.6 * EVERY,
        60_000,
      );
      killedAt = performance.now();
      await victim.kill();
      const q = async (sql: string) => (await c.query(sql, [resumeId])).rows[0];
      const lastAtKill = Number(
        (await q("SELECT max(step) AS s FROM run_events WHERE run_id = $1 AND kind = 'step'")).s ?? -1,
      );
      const checkpoint = Number((await q('SELECT step FROM run_checkpoints WHERE run_id = $1')).step);
      const firstNew = () => arrivals.find(([s]) => s > lastAtKill)?.[1] ?? 0;
      const deadline = Date.now() + 180_000;
      while (!firstNew() && Date.now() < deadline) await sleep(20);
      row(
        `resume after SIGKILL (checkpoint every ${EVERY}, UNROLL_RUN_STALL_SECONDS=${STALL})`,
        `${lastAtKill + 1 - checkpoint} steps recomputed (checkpoint at ${checkpoint}, last committed ${lastAtKill}); kill → first new step at a follower ${firstNew() ? `${((firstNew() - killedAt) / 1000).toFixed(2)} s` : 'none within 180 s'}`,
      );
      follower.terminate();
      await fetch(`${first.base}/v1/runs/${resumeId}/cancel`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
    } finally {
      await c.end();
    }

    // (d) the sheet's /v1/forward through one replica and through two
    const vector = [
      join(import.meta.dirname, '..', '..', 'shared', 'oracle', 'vectors', 'sheet-ex2-tanh.json'),
      join(import.meta.dirname, '..', 'test', 'fixtures', 'oracle', 'sheet-ex2-tanh.json'),
    ].find(existsSync)!;
    const { request: r } = JSON.parse(readFileSync(vector, 'utf8'));
    const body = JSON.stringify({ model: { config: r.config, weights: r.weights }, x: r.x });
    const CONNECTIONS = 16;
    const forward = async (targets: ServerProcess[]) => {
      const opts = (s: ServerProcess, duration: number) => ({
        url: `${s.base}/v1/forward`,
        method: 'POST' as const,
        headers: { 'content-type': 'application/json' },
        body,
        connections: CONNECTIONS / targets.length,
        duration,
      });
      await Promise.all(targets.map((s) => autocannon(opts(s, 1)))); // warm-up
      const rs = await Promise.all(targets.map((s) => autocannon(opts(s, SECONDS))));
      const rps = rs.reduce((n, x) => n + x.requests.average, 0);
      const errors = rs.reduce((n, x) => n + x.errors + x.non2xx, 0);
      const p99 = Math.max(...rs.map((x) => x.latency.p99));
      return `${rps.toFixed(0)} req/s, p99 ${p99} ms, ${errors} errors (${CONNECTIONS} connections)`;
    };
    row('POST /v1/forward (sheet size), 1 api replica', await forward(apis.slice(0, 1)));
    row('POST /v1/forward (sheet size), 2 api replicas', await forward(apis.slice(0, 2)));
  } finally {
    await Promise.all(servers.map((s) => (profDir ? s.stop() : s.kill())));
    await db.drop().catch(() => {});
    const redis = new Redis(REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(`\nbench:cluster on ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}`);
  console.log('| what | figure | load while measured |\n| --- | --- | --- |');
  for (const [w, f, l] of rows) console.log(`| ${w} | ${f} | ${l} |`);
  process.exit(0);
}
