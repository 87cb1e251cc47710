// `npm run bench:limits`: what clients that never read cost the server. The server runs as its own process
// (src/server.ts, the real worker pool, a temp data directory); this process is the clients. Two phases:
//   1. 100 heavy answers left unread: 100 raw sockets each POST a /v1/bptt whose answer is ~12 MB, and never
//      read a byte of it;
//   2. 20 /v1/stream sockets that stop reading, each with 8 bptt operations whose results are ~12 MB;
//   3. a model at the parameter cap (UNROLL_MAX_PARAMS, ~8.4·10⁶ weights): POST /v1/models from a seed, then
//      its GET, each answer (~180 MB of JSON) read whole by the client, a few times over;
// and, meanwhile, /health every 20 ms on a client that does read. Reported per phase: the server's peak RSS
// (/proc/<pid>/status), /health p50 / p99 / max, and what the heavy clients got (answers, 503s).
//   npm run bench:limits                      both phases, 20 s each
//   npm run bench:limits -- --seconds 10 --json
//   npm run bench:limits -- --only model-cap   phase 3 alone
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { freePort, rssMb, watchHealth } from './health-watch.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const SECONDS = Number(flag('--seconds', '20'));
const JSON_OUT = args.includes('--json');
const ONLY = flag('--only', '');
const HEAVY_REQUESTS = 100;
const STREAM_SOCKETS = 20;
const OPS_PER_SOCKET = 8;
const HEALTH_EVERY_MS = 20;
const TARGET_RSS_MB = 800;
const TARGET_P99_MS = 50;

// a BPTT answer with h and dh of B·T·H = 3.2·10⁵ numbers each: ~12 MB of JSON
const model = { config: { inputSize: 1, hiddenSize: 80, outputSize: 2 }, init: { seed: 1 } };
const x = Array.from({ length: 4 }, () => Array.from({ length: 1000 }, () => [0.5]));
const heavy = JSON.stringify({ model, x, targets: [0, 1, 0, 1], include: ['h', 'dh'] });

/** `cpuProf`: a directory for the server's `--cpu-prof` profile (UNROLL_BENCH_CPU_PROF=dir, to see where time goes). */
async function startServer(port: number, dataDir: string, cpuProf?: string): Promise<ChildProcess> {
  const server = fileURLToPath(new URL('../src/server.ts', import.meta.url));
  const prof = cpuProf ? ['--cpu-prof', '--cpu-prof-dir', cpuProf, '--cpu-prof-interval', '250'] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', server], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', UNROLL_DATA_DIR: dataDir, LOG_LEVEL: 'error' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await get(port, '/health')).status === 200) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('the server did not start');
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
function get(port: number, path: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** /health and the server's RSS until `stop` resolves (bench/health-watch.ts). */
const watch = (pid: number, port: number, stop: Promise<unknown>) =>
  watchHealth(pid, stop, HEALTH_EVERY_MS, () => get(port, '/health'));

/** Phase 1: raw sockets that send a heavy request and never read; returns what their status lines said. */
async function unreadAnswers(port: number): Promise<{ sockets: Socket[]; statuses: Map<string, number> }> {
  const statuses = new Map<string, number>();
  const sockets: Socket[] = [];
  for (let i = 0; i < HEAVY_REQUESTS; i++) {
    const s = connect(port, '127.0.0.1');
    sockets.push(s);
    s.on('error', () => {});
    s.once('connect', () => {
      s.write(
        `POST /v1/bptt HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(heavy)}\r\n\r\n${heavy}`,
      );
      // read only the first chunk (the status line), then stop reading for good
      s.once('data', (d) => {
        s.pause();
        const status = /^HTTP\/1\.1 (\d{3})/.exec(d.toString('latin1'))?.[1] ?? '?';
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      });
    });
  }
  return { sockets, statuses };
}

/** Phase 2: stream sockets that send their ops and stop reading. */
async function stalledStreams(port: number): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < STREAM_SOCKETS; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/stream`);
    ws.on('error', () => {});
    await once(ws, 'open');
    (ws as unknown as { _socket: Socket })._socket.pause();
    for (let k = 0; k < OPS_PER_SOCKET; k++)
      ws.send(JSON.stringify({ op: 'bptt', id: `op${k}`, model, x, targets: [0, 1, 0, 1], include: ['h', 'dh'] }));
    sockets.push(ws);
  }
  return sockets;
}

// d = C = 1, H = 2894: H² + 3H + 1 = 8 383 919 parameters, just under UNROLL_MAX_PARAMS' default 8 388 608
const CAP_MODEL = { config: { inputSize: 1, hiddenSize: 2894, outputSize: 1 } };
const CAP_ROUNDS = 3;

/** A request whose answer is read whole and thrown away; resolves to its status, its bytes and its time. */
function exchange(port: number, method: string, path: string, body?: string) {
  const t0 = performance.now();
  return new Promise<{ status: number; bytes: number; ms: number; text: string }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let bytes = 0;
        let text = '';
        res.on('data', (d: Buffer) => {
          if (bytes < 4096) text += d.toString('utf8', 0, Math.min(d.length, 4096));
          bytes += d.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, ms: performance.now() - t0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Phase 3: POST a model at the parameter cap from a seed, then GET it, CAP_ROUNDS times; the times of each. */
async function modelAtCap(port: number): Promise<{ post: number[]; get: number[]; bytes: number; statuses: string[] }> {
  const post: number[] = [];
  const got: number[] = [];
  const statuses: string[] = [];
  let bytes = 0;
  for (let i = 0; i < CAP_ROUNDS; i++) {
    const created = await exchange(port, 'POST', '/v1/models', JSON.stringify({ ...CAP_MODEL, init: { seed: i + 1 } }));
    post.push(created.ms);
    statuses.push(String(created.status));
    const id = /"id":"([^"]+)"/.exec(created.text)?.[1];
    if (created.status !== 201 || !id) break;
    const read = await exchange(port, 'GET', `/v1/models/${id}`);
    got.push(read.ms);
    statuses.push(String(read.status));
    bytes = read.bytes;
    await exchange(port, 'DELETE', `/v1/models/${id}`);
  }
  return { post, get: got, bytes, statuses };
}

const sleep = (s: number) => new Promise<void>((r) => setTimeout(r, s * 1000));

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'unroll-bench-limits-'));
  const port = await freePort();
  const child = await startServer(port, dataDir, process.env.UNROLL_BENCH_CPU_PROF);
  const pid = child.pid!;
  type Row = Awaited<ReturnType<typeof watch>> & { phase: string; heavy?: unknown; rssIdleMb?: number };
  const rows: Row[] = [];
  const judged: Row[] = [];
  try {
    const idle = rssMb(pid);
    const baseline = await watch(pid, port, sleep(3));
    rows.push({ phase: 'idle (no heavy clients)', ...baseline, rssIdleMb: idle });

    if (!ONLY || ONLY === 'unread') {
      const phase1 = unreadAnswers(port);
      const answers = await watch(pid, port, sleep(SECONDS));
      const { sockets, statuses } = await phase1;
      for (const s of sockets) s.destroy();
      await sleep(3);
      rows.push({ phase: `${HEAVY_REQUESTS} unread ~12 MB answers`, ...answers, heavy: Object.fromEntries(statuses) });
      judged.push(rows.at(-1)!);
    }

    if (!ONLY || ONLY === 'stream') {
      const streams = await stalledStreams(port);
      const stream = await watch(pid, port, sleep(SECONDS));
      for (const ws of streams) ws.terminate();
      rows.push({ phase: `${STREAM_SOCKETS} stalled /v1/stream sockets × ${OPS_PER_SOCKET} ops`, ...stream });
      judged.push(rows.at(-1)!);
      await sleep(3);
    }

    if (!ONLY || ONLY === 'model-cap') {
      let done!: () => void;
      const finished = new Promise<void>((r) => {
        done = r;
      });
      const cap = modelAtCap(port).finally(done);
      const health = await watch(pid, port, finished);
      const { post, get, bytes, statuses } = await cap;
      const s = (ms: number[]) => ms.map((m) => (m / 1000).toFixed(1)).join('/');
      rows.push({
        phase: `model at the parameter cap: ${CAP_ROUNDS} × (POST from a seed, GET of ${(bytes / 1e6).toFixed(0)} MB)`,
        ...health,
        heavy: `statuses ${statuses.join(',')}; POST ${s(post)} s, GET ${s(get)} s`,
      });
    }

    const load = loadavg().map((l) => l.toFixed(2));
    if (JSON_OUT) {
      process.stdout.write(`${JSON.stringify({ load, rows })}\n`);
      return;
    }
    console.log(
      `bench:limits  (load average ${load.join(' ')}; targets: RSS < ${TARGET_RSS_MB} MB, /health p99 < ${TARGET_P99_MS} ms)`,
    );
    console.log('| phase | peak RSS | /health p50 | p99 | max | probes | heavy clients got |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const r of rows) {
      const got = r.heavy === undefined ? '' : typeof r.heavy === 'string' ? r.heavy : JSON.stringify(r.heavy);
      console.log(
        `| ${r.phase} | ${r.peakRssMb.toFixed(0)} MB | ${r.p50.toFixed(1)} ms | ${r.p99.toFixed(1)} ms | ${r.max.toFixed(1)} ms | ${r.probes}${r.failures ? ` (${r.failures} failed)` : ''} | ${got} |`,
      );
    }
    if (judged.length) {
      const ok = judged.every((r) => r.peakRssMb < TARGET_RSS_MB && r.p99 < TARGET_P99_MS);
      console.log(ok ? 'the RSS and p99 targets are met' : 'a target was missed');
    }
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
