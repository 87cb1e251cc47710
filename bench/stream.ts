// `npm run bench:stream`: step events per second delivered to 1 and to 50 subscribers of one run, over real
// sockets. The server runs in this process (temp SQLite file, the real run pool); the subscribers run in a
// child process, so they do not share its event loop. A tiny model makes the event pipeline the bottleneck.
//   npm run bench:stream                 1 and 50 subscribers, 20000 steps
//   npm run bench:stream -- --steps 5000 --subscribers 1,10
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/open.js';
import { buildApp } from '../src/http/app.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};

interface ClientReport {
  steps: number;
  skipped: number;
  seconds: number;
}

/** Child mode: N subscribers follow the run until it ends; prints one JSON report per subscriber. */
async function subscribers(url: string, n: number): Promise<void> {
  const one = () =>
    new Promise<ClientReport>((resolve, reject) => {
      const ws = new WebSocket(url);
      let steps = 0;
      let skipped = 0;
      let t0 = 0;
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString());
        if (f.event !== 'step') return;
        if (steps === 0) t0 = performance.now();
        steps++;
        skipped += f.skipped ?? 0;
      });
      ws.on('close', () => resolve({ steps, skipped, seconds: (performance.now() - t0) / 1000 }));
      ws.on('error', reject);
    });
  const reports = await Promise.all(Array.from({ length: n }, one));
  process.stdout.write(`${JSON.stringify(reports)}\n`);
}

async function main(): Promise<void> {
  const steps = Number(flag('--steps', '20000'));
  const counts = flag('--subscribers', '1,50').split(',').map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'unroll-bench-stream-'));
  const config = loadConfig({ LOG_LEVEL: 'warn', UNROLL_RUNS_CONCURRENCY: '1' });
  const db = await openDatabase({ dataDir: dir });
  const app = await buildApp(config, { db, pool: null, logger: false });
  const base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws');
  const post = async (url: string, payload?: object) =>
    (await app.inject({ method: 'POST', url, ...(payload ? { payload } : {}) })).json();
  const tiny = {
    model: { config: { inputSize: 1, hiddenSize: 2, outputSize: 2 }, init: { seed: 1 } },
    task: { name: 'majority', length: 3 },
    batchSize: 1,
    hiddenEvery: 1_000_000,
  };
  console.log(
    `step events delivered per second (${steps} steps of a d=1, H=2, T=3 run; ~${config.UNROLL_WS_SEND_BUDGET} B send budget)`,
  );
  console.log('subscribers  per subscriber/s  all subscribers/s  skipped (conflated)  run steps/s');
  for (const n of counts) {
    // a blocker holds the only run slot, so every subscriber is connected before the measured run starts
    const blocker = await post('/v1/runs', { ...tiny, steps: config.UNROLL_RUN_MAX_STEPS });
    const run = await post('/v1/runs', { ...tiny, steps });
    const child = spawn(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), '--child', `${base}/v1/runs/${run.id}/events`, String(n)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    // the child's sockets are open once the hub counts them
    while (app.services.runs.hub.count(run.id) < n) await new Promise((r) => setTimeout(r, 50));
    await post(`/v1/runs/${blocker.id}/cancel`);
    await new Promise((r) => child.once('exit', r));
    const reports = JSON.parse(out) as ClientReport[];
    const rates = reports.map((r) => r.steps / r.seconds);
    const per = rates.reduce((a, b) => a + b, 0) / rates.length;
    const skipped = reports.reduce((a, r) => a + r.skipped, 0);
    const info = (await app.inject({ url: `/v1/runs/${run.id}` })).json();
    const runRate = info.steps / ((Date.parse(info.finishedAt) - Date.parse(info.startedAt)) / 1000);
    console.log(
      `${String(n).padStart(11)}  ${per.toFixed(0).padStart(16)}  ${(per * n).toFixed(0).padStart(17)}  ${String(skipped).padStart(19)}  ${runRate.toFixed(0).padStart(11)}`,
    );
  }
  await app.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}

if (args[0] === '--child') await subscribers(args[1], Number(args[2]));
else await main();
