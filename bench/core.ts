// `npm run bench`: median ms of one forward+BPTT over the whole batch, GFLOP/s and peak RSS per size,
// side by side with PyTorch (../shared/oracle/torch_rnn.py bench --dtype float64) when it is installed.
//   npm run bench                      the table
//   npm run bench -- --json            one {"B","T","d","H","C","ms"} object per size (the auto-picked backend)
//   npm run bench -- --backend js      one backend (default: every available one)
// Each size runs in its own child process, so that its peak RSS is its own.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bptt } from '../src/core/bptt.js';
import { initParams, Rng } from '../src/core/init.js';
import type { ElmanConfig } from '../src/core/model.js';
import { availableBackends, backendByName } from './backends.js';

export const SIZES: [number, number, number, number, number][] = [
  [5, 13, 7, 10, 3],
  [32, 50, 32, 64, 10],
  [32, 100, 64, 128, 10],
  [64, 100, 128, 256, 10],
  [16, 200, 256, 512, 10],
];

/** Floating-point operations of one forward + BPTT without dx (what torch_rnn.py bench times). */
export function flops(B: number, T: number, d: number, H: number, C: number): number {
  const forward = 2 * B * T * H * (d + H) + 2 * B * C * H;
  const backward = 2 * B * T * H * d /* dU */ + 4 * B * T * H * H /* dW, dh_{t-1} */ + 4 * B * C * H; /* dV, dh_{T-1} */
  return forward + backward;
}

interface Row {
  B: number;
  T: number;
  d: number;
  H: number;
  C: number;
  ms: number;
  rssMiB: number;
  backend: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

async function child(sizeIndex: number, backendName: string): Promise<void> {
  const [B, T, d, H, C] = SIZES[sizeIndex];
  const kernels = await backendByName(backendName);
  const config: ElmanConfig = { inputSize: d, hiddenSize: H, outputSize: C, activation: 'tanh', readout: 'last' };
  const model = { config, params: initParams(config, 1) };
  const rng = new Rng(2);
  const batch = { x: Float64Array.from({ length: B * T * d }, () => rng.normal()), B, T };
  const targets = Int32Array.from({ length: B }, () => rng.int(C));
  // PyTorch's bench keeps no intermediate tensors either
  const step = () => bptt(model, batch, targets, { kernels, skip: ['h', 'dh'] });
  // warm up for half a second (and at least 3 runs), so the JIT has compiled the hot loops before timing
  for (let i = 0, end = performance.now() + 500; i < 3 || performance.now() < end; i++) step();
  const times: number[] = [];
  const budget = performance.now() + 3000;
  while (times.length < 5 || (performance.now() < budget && times.length < 200)) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const row: Row = {
    B,
    T,
    d,
    H,
    C,
    ms: times[times.length >> 1],
    rssMiB: process.resourceUsage().maxRSS / 1024,
    backend: kernels.name,
  };
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

/** PyTorch's float64 table, or null when python3-torch is not installed. */
function torchTable(): Map<string, { my: number; nn: number; version: string }> | null {
  const script = join(here, '..', '..', 'shared', 'oracle', 'torch_rnn.py');
  if (!existsSync(script)) return null;
  // Debian's python3-torch is in the system interpreter; a pyenv python3 earlier on PATH would not see it
  for (const py of ['/usr/bin/python3', 'python3']) {
    try {
      const out = execFileSync(py, [script, 'bench', '--dtype', 'float64', '--threads', '1'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const version = /torch (\S+)/.exec(out)?.[1] ?? '?';
      const table = new Map<string, { my: number; nn: number; version: string }>();
      for (const line of out.split('\n')) {
        const f = line.split('\t');
        if (f.length === 7 && /^\d+$/.test(f[0]))
          table.set(f.slice(0, 5).join(','), { my: Number(f[5]), nn: Number(f[6]), version });
      }
      return table;
    } catch {
      // no torch in this interpreter: try the next one
    }
  }
  return null;
}

function peakGflops(): { ghz: number; peak: number } | null {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const mhz = Number(/cpu MHz\s*:\s*([\d.]+)/.exec(info)?.[1]);
    const fma = /\bfma\b/.test(info) && /\bavx2\b/.test(info);
    if (!mhz) return null;
    // 2 FMA units × 4 f64 lanes (AVX2) × 2 flops per FMA × clock
    return { ghz: mhz / 1000, peak: (fma ? 2 * 4 * 2 : 2 * 2) * (mhz / 1000) };
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const childSize = flag('--child');
  if (childSize !== undefined) return child(Number(childSize), flag('--backend') ?? 'js');
  const json = args.includes('--json');
  // the table compares every backend; --json is one object per size, for the backend the service would pick
  const names = flag('--backend') ? [flag('--backend') as string] : json ? ['auto'] : await availableBackends();
  const rows: Row[] = [];
  for (const name of names) {
    for (let i = 0; i < SIZES.length; i++) {
      const r = spawnSync(
        process.execPath,
        [...process.execArgv, fileURLToPath(import.meta.url), '--child', String(i), '--backend', name],
        { encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(`bench child failed: ${r.stderr}`);
      const row = JSON.parse(r.stdout.trim()) as Row;
      rows.push(row);
      if (json)
        process.stdout.write(`${JSON.stringify({ B: row.B, T: row.T, d: row.d, H: row.H, C: row.C, ms: row.ms })}\n`);
    }
  }
  if (json) return;
  const torch = torchTable();
  const cpu = peakGflops();
  console.log(`# unroll core bench: forward + BPTT (no dx), float64, one thread, median of up to 200 runs`);
  console.log(
    `# node ${process.version}; ${cpu ? `${cpu.ghz.toFixed(2)} GHz, peak ${cpu.peak.toFixed(1)} GFLOP/s per core (2 FMA × 4 f64 lanes)` : 'clock unknown'}`,
  );
  console.log(
    torch
      ? `# PyTorch ${[...torch.values()][0]?.version} float64, 1 thread: ratio = PyTorch's better column ÷ ours (> 1: we are faster)`
      : '# PyTorch not found (apt-get install -y python3-torch): no ratio',
  );
  const head = ['backend', 'B', 'T', 'd', 'H', 'C', 'ms', 'GFLOP/s', '%peak', 'RSS MiB', 'torch ms', 'ratio'];
  const lines = rows.map((r) => {
    const gf = flops(r.B, r.T, r.d, r.H, r.C) / (r.ms * 1e6);
    const t = torch?.get([r.B, r.T, r.d, r.H, r.C].join(','));
    const best = t ? Math.min(t.my, t.nn) : undefined;
    return [
      r.backend,
      r.B,
      r.T,
      r.d,
      r.H,
      r.C,
      r.ms.toFixed(3),
      gf.toFixed(2),
      cpu ? ((100 * gf) / cpu.peak).toFixed(1) : '-',
      r.rssMiB.toFixed(0),
      best?.toFixed(3) ?? '-',
      best ? (best / r.ms).toFixed(2) : '-',
    ].map(String);
  });
  const widths = head.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c].length)));
  const fmt = (l: string[]) => l.map((v, c) => v.padStart(widths[c])).join('  ');
  console.log(fmt(head));
  for (const l of lines) console.log(fmt(l));
}

await main();
