// `npm run bench:responsive`: does the event loop stay free while large tensors come and go? (issue 14.)
// The real server (src/server.ts, its worker pool, a real socket) runs as a child process, twice in one run:
// with UNROLL_OFFLOAD_BYTES=Infinity (every body parsed and every answer encoded on the event loop, the path
// before issue 14) and with the default (large ones in the pool). Against each, three phases, while a client
// that reads samples GET /health every 5 ms:
//   (a) 8 clients each POST /v1/bptt of B=8, T=200, d=32, H=256 with include dh (a ~1 MB body, a ~9 MB
//       answer) again and again; their own latency is reported too;
//   (b) 50 WebSocket followers of a training run (GET /v1/runs/:id/events);
//   (c) 100 heavy BPTT answers (~12 MB each) that their clients never read (as in bench:limits).
// Each phase's clients run in a child process of their own, so that this process, which samples /health,
// measures the server's event loop and not the clients' own. Reported side by side: /health p50 / p99 /
// max, the heavy requests' latency, the server's peak RSS, and the load average (the machine is shared:
// compare the two modes of one run, not runs of different days).
//   npm run bench:responsive                       10 s per phase
//   npm run bench:responsive -- --seconds 5 --json
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { freePort, quantile, rssMb, watchHealth } from './health-watch.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const SECONDS = Number(flag('--seconds', '10'));
const JSON_OUT = args.includes('--json');
const HEALTH_EVERY_MS = 5;
const HEAVY_CLIENTS = 8;
const FOLLOWERS = 50;
const UNREAD = 100;
const TARGETS = { a: 20, b: 20, c: 50 };

const MODES = [
  { name: 'event loop (UNROLL_OFFLOAD_BYTES=Infinity)', env: { UNROLL_OFFLOAD_BYTES: 'Infinity' } },
  { name: 'offload (default)', env: {} as Record<string, string> },
];

// (a) the issue's measurement: B=8, T=200, d=32, H=256, include dh
let seed = 1;
const rand = () => {
  seed = (seed * 16807) % 2147483647;
  return seed / 2147483647 - 0.5;
};
const B = 8;
const T = 200;
const d = 32;
const heavyModel = { config: { inputSize: d, hiddenSize: 256, outputSize: 2 }, init: { seed: 1 } };
const heavyBody = JSON.stringify({
  model: heavyModel,
  x: Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: d }, rand))),
  targets: Array.from({ length: B }, (_, i) => i % 2),
  include: ['dh'],
});
// (c) bench:limits' unread answer: h and dh of B·T·H = 3.2·10⁵ numbers each, ~12 MB of JSON
const unreadBody = JSON.stringify({
  model: { config: { inputSize: 1, hiddenSize: 80, outputSize: 2 }, init: { seed: 1 } },
  x: Array.from({ length: 4 }, () => Array.from({ length: 1000 }, () => [0.5])),
  targets: [0, 1, 0, 1],
  include: ['h', 'dh'],
});

const healthAgent = new Agent({ keepAlive: true, maxSockets: 1 });
function call(
  port: number,
  path: string,
  opts: { method?: string; body?: string; agent?: Agent } = {},
): Promise<{ status: number; ms: number; text: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        agent: opts.agent ?? healthAgent,
        headers: opts.body
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(opts.body) }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, text: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function startServer(port: number, dataDir: string, env: Record<string, string>): Promise<ChildProcess> {
  const server = fileURLToPath(new URL('../src/server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', server], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      UNROLL_DATA_DIR: dataDir,
      LOG_LEVEL: 'error',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await call(port, '/health')).status === 200) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('the server did not start');
}

/** /health and the server's RSS until `stop` resolves (bench/health-watch.ts). */
const watch = (pid: number, port: number, stop: Promise<unknown>) =>
  watchHealth(pid, stop, HEALTH_EVERY_MS, () => call(port, '/health'));

const sleep = (s: number) => new Promise<void>((r) => setTimeout(r, s * 1000));

/** (a) HEAVY_CLIENTS clients posting the heavy BPTT back to back until the deadline; their latencies. */
async function heavyClients(port: number, until: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: HEAVY_CLIENTS });
  const ms: number[] = [];
  const statuses: Record<string, number> = {};
  await Promise.all(
    Array.from({ length: HEAVY_CLIENTS }, async () => {
      while (performance.now() < until) {
        const r = await call(port, '/v1/bptt', { method: 'POST', body: heavyBody, agent });
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status === 200) ms.push(r.ms);
      }
    }),
  );
  agent.destroy();
  ms.sort((a, b) => a - b);
  return { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), n: ms.length, statuses };
}

/** (b) a training run and FOLLOWERS sockets on its events; resolves with the frames they read. */
async function followers(port: number, seconds: number) {
  const run = JSON.parse(
    (
      await call(port, '/v1/runs', {
        method: 'POST',
        body: JSON.stringify({
          model: { config: { inputSize: 1, hiddenSize: 32, outputSize: 2 }, init: { seed: 1 } },
          task: { name: 'majority', length: 16 },
          batchSize: 32,
          steps: 200_000,
          hiddenEvery: 50,
        }),
      })
    ).text,
  ) as { id?: string };
  if (!run.id) throw new Error(`the run was not created: ${JSON.stringify(run)}`);
  let frames = 0;
  const sockets = await Promise.all(
    Array.from({ length: FOLLOWERS }, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/runs/${run.id}/events`);
      ws.on('message', () => frames++);
      ws.on('error', () => {});
      await once(ws, 'open');
      return ws;
    }),
  );
  await sleep(seconds);
  for (const ws of sockets) ws.terminate();
  await call(port, `/v1/runs/${run.id}/cancel`, { method: 'POST' });
  return { frames };
}

/** (c) UNREAD raw sockets that send a heavy BPTT and read only their status line. */
function unreadAnswers(port: number) {
  const statuses: Record<string, number> = {};
  const sockets: Socket[] = [];
  for (let i = 0; i < UNREAD; i++) {
    const s = connect(port, '127.0.0.1');
    sockets.push(s);
    s.on('error', () => {});
    s.once('connect', () => {
      s.write(
        `POST /v1/bptt HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(unreadBody)}\r\n\r\n${unreadBody}`,
      );
      s.once('data', (d) => {
        s.pause();
        const status = /^HTTP\/1\.1 (\d{3})/.exec(d.toString('latin1'))?.[1] ?? '?';
        statuses[status] = (statuses[status] ?? 0) + 1;
      });
    });
  }
  return { sockets, statuses };
}

interface Row {
  phase: string;
  mode: string;
  p50: number;
  p99: number;
  max: number;
  probes: number;
  failures: number;
  peakRssMb: number;
  heavy?: { p50: number; p99: number; n: number; statuses: Record<string, number> };
  note?: string;
  load: string;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/** Runs one phase's clients in a child process (this file with --load); resolves with what it printed. */
function loadChild(phase: 'a' | 'b' | 'c', port: number): Promise<Record<string, unknown>> {
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      '--load',
      phase,
      '--port',
      String(port),
      '--seconds',
      String(SECONDS),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  return once(child, 'exit').then(() => JSON.parse(out || '{}'));
}

/** The clients of one phase, in the child. */
async function runLoad(phase: string, port: number): Promise<unknown> {
  if (phase === 'a') return heavyClients(port, performance.now() + SECONDS * 1000);
  if (phase === 'b') return followers(port, SECONDS);
  const unread = unreadAnswers(port);
  await sleep(SECONDS);
  for (const s of unread.sockets) s.destroy();
  return { statuses: unread.statuses };
}

async function measure(mode: (typeof MODES)[number]): Promise<Row[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'unroll-bench-responsive-'));
  const port = await freePort();
  const child = await startServer(port, dataDir, mode.env);
  const pid = child.pid!;
  const rows: Row[] = [];
  try {
    // warm the pool's threads and the kernels
    await call(port, '/v1/bptt', { method: 'POST', body: heavyBody });
    const idle = await watch(pid, port, sleep(2));
    rows.push({ phase: 'idle', mode: mode.name, ...idle, load: load() });

    const heavy = loadChild('a', port);
    const a = await watch(pid, port, heavy);
    rows.push({
      phase: `(a) ${HEAVY_CLIENTS} × BPTT B=8 T=200 d=32 H=256 +dh`,
      mode: mode.name,
      ...a,
      heavy: (await heavy) as unknown as Row['heavy'],
      load: load(),
    });

    const follow = loadChild('b', port);
    const b = await watch(pid, port, follow);
    rows.push({
      phase: `(b) ${FOLLOWERS} run followers`,
      mode: mode.name,
      ...b,
      note: `${(await follow).frames} frames read`,
      load: load(),
    });

    const unread = loadChild('c', port);
    const c = await watch(pid, port, unread);
    rows.push({
      phase: `(c) ${UNREAD} unread ~12 MB answers`,
      mode: mode.name,
      ...c,
      note: JSON.stringify((await unread).statuses),
      load: load(),
    });
    await sleep(1);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
    rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}

async function main(): Promise<void> {
  if (args.includes('--load')) {
    process.stdout.write(JSON.stringify(await runLoad(flag('--load', 'a'), Number(flag('--port', '0')))));
    process.exit(0);
  }
  const rows: Row[] = [];
  for (const mode of MODES) rows.push(...(await measure(mode)));
  healthAgent.destroy();
  if (JSON_OUT) {
    process.stdout.write(`${JSON.stringify({ seconds: SECONDS, rows })}\n`);
    return;
  }
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');
  console.log(
    `bench:responsive  (${SECONDS} s per phase; /health every ${HEALTH_EVERY_MS} ms; targets: p99 < ${TARGETS.a} ms in (a) and (b), < ${TARGETS.c} ms in (c))`,
  );
  console.log(
    '| phase | mode | /health p50 | p99 | max | probes | heavy p50 / p99 (n) | peak RSS | load (1/5/15 min) | |',
  );
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |');
  const phases = [...new Set(rows.map((r) => r.phase))];
  for (const phase of phases)
    for (const r of rows.filter((x) => x.phase === phase)) {
      const heavy = r.heavy ? `${f(r.heavy.p50)} / ${f(r.heavy.p99)} ms (${r.heavy.n})` : '';
      console.log(
        `| ${r.phase} | ${r.mode} | ${f(r.p50)} ms | ${f(r.p99)} ms | ${f(r.max)} ms | ${r.probes}${r.failures ? ` (${r.failures} failed)` : ''} | ${heavy} | ${r.peakRssMb.toFixed(0)} MB | ${r.load} | ${r.note ?? (r.heavy ? JSON.stringify(r.heavy.statuses) : '')} |`,
      );
    }
  const [before, after] = MODES.map((m) => rows.filter((r) => r.mode === m.name));
  const a0 = before.find((r) => r.heavy)?.heavy;
  const a1 = after.find((r) => r.heavy)?.heavy;
  if (a0 && a1)
    console.log(
      `heavy latency, offload / event loop: p50 ${(a1.p50 / a0.p50).toFixed(2)}×, p99 ${(a1.p99 / a0.p99).toFixed(2)}×`,
    );
  const target = (r: Row) =>
    r.phase.startsWith('(c)') ? TARGETS.c : r.phase.startsWith('(') ? TARGETS.a : Number.POSITIVE_INFINITY;
  const missed = after.filter((r) => r.p99 >= target(r)).map((r) => r.phase);
  console.log(missed.length ? `with offload, missed: ${missed.join('; ')}` : 'with offload, every /health target met');
}

await main();
