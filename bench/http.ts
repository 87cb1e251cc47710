// `npm run bench:http`: requests/s and p50/p99 latency at 8 connections for the sheet-size forward and bptt
// (bodies from sheet-ex2-tanh.json), against unroll (`node dist/server.js`, at LOG_LEVEL=info as deployed,
// its log to a file) and, in the same run, a bare Fastify route that parses the same JSON body and answers a
// constant (bench/bare-server.ts: the ceiling for this machine, Node and Fastify), rounds alternating
// bare, unroll, unroll, bare so drift from the neighbours' load hits both alike; then the FastAPI + PyTorch
// peer (../shared/peer/fastapi_torch.py) when python3-torch and FastAPI are installed.
//   npm run bench:http [-- --duration 10 --connections 8 --rounds 2 --log-level info --server dist/server.js]
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const opt = (name: string, d: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const duration = opt('--duration', 10);
const connections = opt('--connections', 8);
const rounds = opt('--rounds', 2);
const logLevel = args.includes('--log-level') ? args[args.indexOf('--log-level') + 1] : 'info';
// another build of the server to measure (an A/B against an older commit's dist/server.js)
const serverEntry = args.includes('--server') ? args[args.indexOf('--server') + 1] : 'dist/server.js';
const loadAvg = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');

// ../shared beside the clone (/work/main), or beside the worktrees' folder (/work/wt/<name>)
const shared =
  [join(root, '..', 'shared'), join(root, '..', '..', 'shared')].find(existsSync) ?? join(root, '..', 'shared');
const vector = [
  join(shared, 'oracle', 'vectors', 'sheet-ex2-tanh.json'),
  join(root, 'test', 'fixtures', 'oracle', 'sheet-ex2-tanh.json'),
].find(existsSync)!;
const { request: r } = JSON.parse(readFileSync(vector, 'utf8'));
const model = { config: r.config, weights: r.weights };
const bodies = {
  forward: JSON.stringify({ model, x: r.x }),
  bptt: JSON.stringify({ model, x: r.x, targets: r.targets }),
};

async function waitHealthy(url: string, proc: ChildProcess, log: () => string): Promise<void> {
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    if (proc.exitCode !== null) throw new Error(`server exited: ${log()}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {}
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`server did not answer /health: ${log()}`);
}

/** A server; `logFile`: its stdout goes there (not through this process, which shares the 2 cores). */
function start(
  cmd: string,
  argv: string[],
  env: Record<string, string>,
  logFile?: string,
): { proc: ChildProcess; log: () => string } {
  let out = '';
  const fd = logFile ? openSync(logFile, 'w') : undefined;
  const proc = spawn(cmd, argv, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', fd ?? 'pipe', 'pipe'],
  });
  if (fd !== undefined) closeSync(fd);
  proc.stdout?.on('data', (d) => (out += d));
  proc.stderr?.on('data', (d) => (out += d));
  return { proc, log: () => (logFile ? readFileSync(logFile, 'utf8') + out : out).slice(-2000) };
}

interface Result {
  round?: number;
  server: string;
  cpuUs?: number | null;
  route: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** CPU time (user + system, ms) a process has used, from /proc (Linux; null elsewhere). */
function cpuMs(pid: number | undefined): number | null {
  try {
    // the fields after the command's closing parenthesis: state is 3rd, utime 14th and stime 15th of the line
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
  } catch {
    return 100;
  }
})();

async function load(server: string, url: string, route: 'forward' | 'bptt', pid?: number): Promise<Result> {
  // a short warm-up, so the JIT (or PyTorch's allocator) has settled before measuring
  await autocannon({
    url: `${url}/v1/${route}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: bodies[route],
    connections,
    duration: 2,
  });
  const cpu0 = cpuMs(pid);
  const res = await autocannon({
    url: `${url}/v1/${route}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: bodies[route],
    connections,
    duration,
  });
  const cpu1 = cpuMs(pid);
  return {
    server,
    route,
    rps: res.requests.average,
    // the server's CPU per answered request: what its throughput is on an idle machine, whatever the neighbours do
    cpuUs:
      cpu0 !== null && cpu1 !== null && res.requests.total > 0 ? ((cpu1 - cpu0) * 1000) / res.requests.total : null,
    p50: res.latency.p50,
    p99: res.latency.p99,
    errors: res.errors + res.non2xx,
  };
}

function pythonWithPeer(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(py, ['-c', 'import torch, fastapi, uvicorn'], { stdio: 'ignore' });
      return py;
    } catch {}
  }
  return null;
}

execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
const results: Result[] = [];
const data = mkdtempSync(join(tmpdir(), 'unroll-bench-'));
const loadBefore = loadAvg();
const ours = start(
  process.execPath,
  [serverEntry],
  { PORT: '3901', HOST: '127.0.0.1', UNROLL_DATA_DIR: data, LOG_LEVEL: logLevel },
  join(data, 'server.log'),
);
const bare = start(process.execPath, ['--import', 'tsx', 'bench/bare-server.ts', '3903'], {});
try {
  await waitHealthy('http://127.0.0.1:3901', ours.proc, ours.log);
  await waitHealthy('http://127.0.0.1:3903', bare.proc, bare.log);
  const servers = [
    ['bare fastify', 'http://127.0.0.1:3903', bare.proc.pid],
    ['unroll', 'http://127.0.0.1:3901', ours.proc.pid],
  ] as const;
  for (let round = 0; round < rounds; round++) {
    for (const route of ['forward', 'bptt'] as const) {
      // bare, unroll in even rounds and unroll, bare in odd ones
      const order = round % 2 ? [...servers].reverse() : servers;
      for (const [name, url, pid] of order) results.push({ ...(await load(name, url, route, pid)), round });
    }
  }
} finally {
  ours.proc.kill('SIGTERM');
  bare.proc.kill('SIGTERM');
  await new Promise((res) => setTimeout(res, 500));
  rmSync(data, { recursive: true, force: true });
}

const py = pythonWithPeer();
const peerScript = join(shared, 'peer', 'fastapi_torch.py');
if (py && existsSync(peerScript)) {
  const peer = start(py, [peerScript, '3902'], {});
  try {
    await waitHealthy('http://127.0.0.1:3902', peer.proc, peer.log);
    for (const route of ['forward', 'bptt'] as const)
      results.push(await load('fastapi+torch', 'http://127.0.0.1:3902', route));
  } finally {
    peer.proc.kill('SIGTERM');
  }
} else {
  console.log(
    '# the FastAPI + PyTorch peer is not available (apt-get install -y python3-torch python3-fastapi python3-uvicorn): no ratio',
  );
}

console.log(
  `# ${connections} connections, ${duration} s per route after 2 s of warm-up; body: sheet-ex2-tanh (B=5, T=13, d=7, H=10, C=3); unroll (${serverEntry}) at LOG_LEVEL=${logLevel}`,
);
console.log(`# load average before ${loadBefore}, after ${loadAvg()}`);
console.log(
  "# ÷bare: unroll req/s ÷ the bare route of the same round; cpu µs/req: the server process's CPU time per answered request",
);
console.log(
  "# ÷bare cpu: the bare route's CPU per request ÷ unroll's (the req/s ratio on an idle machine); ÷peer: unroll req/s ÷ the FastAPI + PyTorch peer",
);
console.log('round  server          route     req/s    p50 ms  p99 ms  errors  cpu µs/req  ÷bare  ÷bare cpu  ÷peer');
for (const x of results) {
  const peer = results.find((p) => p.server === 'fastapi+torch' && p.route === x.route);
  const base = results.find((p) => p.server === 'bare fastify' && p.route === x.route && p.round === x.round);
  const ratio = (of?: Result) => (x.server === 'unroll' && of ? (x.rps / of.rps).toFixed(2) : '');
  const cpuRatio = x.server === 'unroll' && base?.cpuUs && x.cpuUs ? (base.cpuUs / x.cpuUs).toFixed(2) : '';
  console.log(
    `${String(x.round === undefined ? '-' : x.round + 1).padEnd(6)} ${x.server.padEnd(15)} ${x.route.padEnd(8)} ${x.rps.toFixed(0).padStart(7)} ${x.p50.toFixed(1).padStart(8)} ${x.p99.toFixed(1).padStart(7)} ${String(x.errors).padStart(7)}  ${(x.cpuUs?.toFixed(0) ?? '-').padStart(10)}  ${ratio(base).padStart(5)}  ${cpuRatio.padStart(9)}  ${ratio(peer).padStart(5)}`,
  );
}
