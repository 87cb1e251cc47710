// `npm run bench:http`: requests/s and p50/p99 latency at 8 connections for the sheet-size forward and bptt
// (bodies from sheet-ex2-tanh.json), against unroll (`node dist/server.js`) and, side by side in the same run,
// the FastAPI + PyTorch peer (../shared/peer/fastapi_torch.py) when python3-torch and FastAPI are installed.
//   npm run bench:http [-- --duration 10 --connections 8]
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

const shared = join(root, '..', 'shared');
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

function start(cmd: string, argv: string[], env: Record<string, string>): { proc: ChildProcess; log: () => string } {
  let out = '';
  const proc = spawn(cmd, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (d) => (out += d));
  proc.stderr?.on('data', (d) => (out += d));
  return { proc, log: () => out.slice(-2000) };
}

interface Result {
  server: string;
  route: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(server: string, url: string, route: 'forward' | 'bptt'): Promise<Result> {
  // a short warm-up, so the JIT (or PyTorch's allocator) has settled before measuring
  await autocannon({
    url: `${url}/v1/${route}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: bodies[route],
    connections,
    duration: 2,
  });
  const res = await autocannon({
    url: `${url}/v1/${route}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: bodies[route],
    connections,
    duration,
  });
  return {
    server,
    route,
    rps: res.requests.average,
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
const ours = start(process.execPath, ['dist/server.js'], {
  PORT: '3901',
  HOST: '127.0.0.1',
  UNROLL_DATA_DIR: data,
  LOG_LEVEL: 'warn',
});
try {
  await waitHealthy('http://127.0.0.1:3901', ours.proc, ours.log);
  for (const route of ['forward', 'bptt'] as const) results.push(await load('unroll', 'http://127.0.0.1:3901', route));
} finally {
  ours.proc.kill('SIGTERM');
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
  `# ${connections} connections, ${duration} s per route after 2 s of warm-up; body: sheet-ex2-tanh (B=5, T=13, d=7, H=10, C=3)`,
);
console.log('server          route     req/s    p50 ms  p99 ms  errors  ratio');
for (const x of results) {
  const peer = results.find((p) => p.server === 'fastapi+torch' && p.route === x.route);
  const ratio = x.server === 'unroll' && peer ? (x.rps / peer.rps).toFixed(1) : '';
  console.log(
    `${x.server.padEnd(15)} ${x.route.padEnd(8)} ${x.rps.toFixed(0).padStart(7)} ${x.p50.toFixed(1).padStart(8)} ${x.p99.toFixed(1).padStart(7)} ${String(x.errors).padStart(7)}  ${ratio}`,
  );
}
