// `npm run bench:limits`: what clients that never read cost the server. The server runs as its own process
// (src/server.ts, the real worker pool, a temp data directory); this process is the clients. Two phases:
//   1. 100 heavy answers left unread: 100 raw sockets each POST a /v1/bptt whose answer is ~12 MB, and never
//      read a byte of it;
//   2. 20 /v1/stream sockets that stop reading, each with 8 bptt operations whose results are ~12 MB;
// and, meanwhile, /health every 20 ms on a client that does read. Reported per phase: the server's peak RSS
// (/proc/<pid>/status), /health p50 / p99 / max, and what the heavy clients got (answers, 503s).
//   npm run bench:limits                      both phases, 20 s each
//   npm run bench:limits -- --seconds 10 --json
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const SECONDS = Number(flag('--seconds', '20'));
const JSON_OUT = args.includes('--json');
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

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const rssMb = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};

async function startServer(port: number, dataDir: string): Promise<ChildProcess> {
  const server = fileURLToPath(new URL('../src/server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', server], {
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

/** Samples RSS and /health latency until `stop` resolves. */
async function watch(pid: number, port: number, stop: Promise<void>) {
  let done = false;
  void stop.then(() => {
    done = true;
  });
  const latencies: number[] = [];
  let peak = 0;
  let failures = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 100);
  while (!done) {
    const t0 = performance.now();
    try {
      const r = await get(port, '/health');
      if (r.status === 200) latencies.push(r.ms);
      else failures++;
    } catch {
      failures++;
    }
    const wait = HEALTH_EVERY_MS - (performance.now() - t0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  clearInterval(sampler);
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
  return {
    peakRssMb: peak,
    p50: q(0.5),
    p99: q(0.99),
    max: latencies.at(-1) ?? Number.NaN,
    probes: latencies.length,
    failures,
  };
}

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

const sleep = (s: number) => new Promise<void>((r) => setTimeout(r, s * 1000));

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'unroll-bench-limits-'));
  const port = await freePort();
  const child = await startServer(port, dataDir);
  const pid = child.pid!;
  try {
    const idle = rssMb(pid);
    const baseline = await watch(pid, port, sleep(3));

    const phase1 = unreadAnswers(port);
    const answers = await watch(pid, port, sleep(SECONDS));
    const { sockets, statuses } = await phase1;
    for (const s of sockets) s.destroy();
    await sleep(3);

    const streams = await stalledStreams(port);
    const stream = await watch(pid, port, sleep(SECONDS));
    for (const ws of streams) ws.terminate();

    const load = loadavg().map((l) => l.toFixed(2));
    const rows = [
      { phase: 'idle (no heavy clients)', ...baseline, rssIdleMb: idle },
      { phase: `${HEAVY_REQUESTS} unread ~12 MB answers`, ...answers, heavy: Object.fromEntries(statuses) },
      { phase: `${STREAM_SOCKETS} stalled /v1/stream sockets × ${OPS_PER_SOCKET} ops`, ...stream },
    ];
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
      const got = 'heavy' in r ? JSON.stringify(r.heavy) : '';
      console.log(
        `| ${r.phase} | ${r.peakRssMb.toFixed(0)} MB | ${r.p50.toFixed(1)} ms | ${r.p99.toFixed(1)} ms | ${r.max.toFixed(1)} ms | ${r.probes}${r.failures ? ` (${r.failures} failed)` : ''} | ${got} |`,
      );
    }
    const ok = [answers, stream].every((r) => r.peakRssMb < TARGET_RSS_MB && r.p99 < TARGET_P99_MS);
    console.log(ok ? 'both targets met' : 'a target was missed');
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
