// `npm run bench`: median ms of one forward+BPTT over the whole batch, GFLOP/s and peak RSS per size,
// side by side with OpenBLAS's own dgemm at 512³ and 1024³ (through the addon, timed in the same child,
// interleaved with the forward+BPTT runs so both see the same machine) and with PyTorch
// (../shared/oracle/torch_rnn.py bench --dtype float64) when it is installed.
//   npm run bench                      the table
//   npm run bench -- --json            one {"B","T","d","H","C","ms"} object per size (the auto-picked backend)
//   npm run bench -- --backend js      one backend (default: every available one)
//   npm run bench -- --rounds 3        the whole table (ours and PyTorch's) three times, then the ratios' ranges
// Each size runs in its own child process, so that its peak RSS is its own.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bptt } from '../src/core/bptt.js';
import { initParams, Rng } from '../src/core/init.js';
import type { BlasGemm } from '../src/core/kernels-blas.js';
import type { ElmanConfig } from '../src/core/model.js';
import { BLAS_ADDON } from '../src/kernels.js';
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
  /** OpenBLAS dgemm GFLOP/s (median) at n³, timed between the runs of this size; absent without the addon. */
  dgemm?: Record<DgemmSize, number>;
}

const DGEMM_SIZES = [512, 1024] as const;
type DgemmSize = (typeof DGEMM_SIZES)[number];

/** The addon's gemm, or null when it is not built here. */
function blasGemm(): BlasGemm | null {
  try {
    return (createRequire(import.meta.url)(BLAS_ADDON.pathname) as { gemm: BlasGemm }).gemm;
  } catch {
    return null;
  }
}

/** One C += A·B of n³ through the addon (one OpenBLAS thread, as the service's products), timed in ms. */
function dgemmTimer(gemm: BlasGemm, n: number): () => number {
  const rng = new Rng(3);
  const [A, B, C] = [0, 1, 2].map(() => Float64Array.from({ length: n * n }, () => rng.normal()));
  return () => {
    const t0 = performance.now();
    gemm(0, n, n, n, A, 0, n, B, 0, n, C, 0, n);
    return performance.now() - t0;
  };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];

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
  // the step's own peak, before the dgemm operands (24 MiB at 1024³) exist
  const rssMiB = process.resourceUsage().maxRSS / 1024;
  const gemm = blasGemm();
  const timers = gemm ? DGEMM_SIZES.map((n) => ({ n, time: dgemmTimer(gemm, n), ms: [] as number[] })) : [];
  for (const t of timers) t.time(); // OpenBLAS's first call allocates its buffers
  const times: number[] = [];
  const start = performance.now();
  const budget = start + 3000;
  let dgemmMs = 0;
  let stepMs = 0;
  while (times.length < 5 || (performance.now() < budget && times.length < 200)) {
    const t0 = performance.now();
    step();
    const dt = performance.now() - t0;
    times.push(dt);
    stepMs += dt;
    // the dgemms take turns with the runs, about a third of the time and at least 5 each spread over the
    // window, so that a neighbour's load on this shared machine slows both alike and the ratio survives it
    const spread = 1 + (4 * (performance.now() - start)) / 3000;
    for (const t of timers) {
      if (t.ms.length < spread || dgemmMs < stepMs / 2) {
        const ms = t.time();
        t.ms.push(ms);
        dgemmMs += ms;
      }
    }
  }
  const row: Row = {
    B,
    T,
    d,
    H,
    C,
    ms: median(times),
    rssMiB,
    backend: kernels.name,
    ...(timers.length
      ? { dgemm: Object.fromEntries(timers.map((t) => [t.n, (2 * t.n ** 3) / (median(t.ms) * 1e6)])) as Row['dgemm'] }
      : {}),
  };
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

/** PyTorch's float64 table, or null when python3-torch is not installed. */
function torchTable(): Map<string, { my: number; nn: number; version: string }> | null {
  // ../shared beside the clone (/work/main), or beside the worktrees' folder (/work/wt/<name>)
  const script = [join(here, '..', '..', 'shared'), join(here, '..', '..', '..', 'shared')]
    .map((dir) => join(dir, 'oracle', 'torch_rnn.py'))
    .find((f) => existsSync(f));
  if (!script) return null;
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

function measure(names: string[], json: boolean): Row[] {
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
  return rows;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');

/** One round's table: ours beside OpenBLAS's dgemm (same child) and PyTorch (same round); returns the ratios. */
function table(rows: Row[], torch: ReturnType<typeof torchTable>, loadBefore: string): Map<string, number[]> {
  const cpu = peakGflops();
  console.log(`# unroll core bench: forward + BPTT (no dx), float64, one thread, median of up to 200 runs`);
  console.log(
    `# node ${process.version}; ${cpu ? `${cpu.ghz.toFixed(2)} GHz nominal, 2 FMA × 4 f64 lanes: ${cpu.peak.toFixed(1)} GFLOP/s` : 'clock unknown'}; load average before ${loadBefore}, after ${load()}`,
  );
  console.log(
    '# dgemm n³ = OpenBLAS cblas_dgemm through native/ (one thread), timed in the same child between the runs; ÷n³ = our GFLOP/s ÷ its',
  );
  console.log(
    torch
      ? `# PyTorch ${[...torch.values()][0]?.version} float64, 1 thread, after ours: torch ms is its better column, torch GF/s the same flop count ÷ that time, ratio = torch ms ÷ ours (> 1: we are faster)`
      : '# PyTorch not found (apt-get install -y python3-torch): no ratio',
  );
  const head = [
    'backend',
    'B',
    'T',
    'd',
    'H',
    'C',
    'ms',
    'GFLOP/s',
    'dgemm512',
    '÷512³',
    'dgemm1024',
    '÷1024³',
    'RSS MiB',
    'torch ms',
    'torch GF/s',
    'torch÷512³',
    'ratio',
  ];
  const ratios = new Map<string, number[]>();
  const lines = rows.map((r) => {
    const f = flops(r.B, r.T, r.d, r.H, r.C);
    const gf = f / (r.ms * 1e6);
    const key = [r.B, r.T, r.d, r.H, r.C].join(',');
    const t = torch?.get(key);
    const best = t ? Math.min(t.my, t.nn) : undefined;
    const tgf = best ? f / (best * 1e6) : undefined;
    const g = r.dgemm;
    ratios.set(`${r.backend} ${key}`, [
      g ? gf / g[512] : Number.NaN,
      g ? gf / g[1024] : Number.NaN,
      best ? best / r.ms : Number.NaN,
      tgf && g ? tgf / g[512] : Number.NaN,
    ]);
    return [
      r.backend,
      r.B,
      r.T,
      r.d,
      r.H,
      r.C,
      r.ms.toFixed(3),
      gf.toFixed(2),
      g ? g[512].toFixed(1) : '-',
      g ? (gf / g[512]).toFixed(2) : '-',
      g ? g[1024].toFixed(1) : '-',
      g ? (gf / g[1024]).toFixed(2) : '-',
      r.rssMiB.toFixed(0),
      best?.toFixed(3) ?? '-',
      tgf?.toFixed(2) ?? '-',
      tgf && g ? (tgf / g[512]).toFixed(2) : '-',
      best ? (best / r.ms).toFixed(2) : '-',
    ].map(String);
  });
  const widths = head.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c].length)));
  const fmt = (l: string[]) => l.map((v, c) => v.padStart(widths[c])).join('  ');
  console.log(fmt(head));
  for (const l of lines) console.log(fmt(l));
  return ratios;
}

async function main(): Promise<void> {
  const childSize = flag('--child');
  if (childSize !== undefined) return child(Number(childSize), flag('--backend') ?? 'js');
  const json = args.includes('--json');
  // the table compares every backend; --json is one object per size, for the backend the service would pick
  const names = flag('--backend') ? [flag('--backend') as string] : json ? ['auto'] : await availableBackends();
  if (json) {
    measure(names, true);
    return;
  }
  const rounds = Math.max(1, Number(flag('--rounds') ?? 1));
  const all: Map<string, number[]>[] = [];
  for (let round = 0; round < rounds; round++) {
    if (rounds > 1) console.log(`\n## round ${round + 1} of ${rounds}`);
    const before = load();
    const rows = measure(names, false);
    all.push(table(rows, torchTable(), before));
  }
  if (rounds < 2) return;
  // each ratio comes from one round (one child for ÷dgemm, one round for PyTorch); their range over the rounds
  console.log(`\n## ranges over ${rounds} rounds (min–max)`);
  const range = (i: number, key: string) => {
    const v = all.map((m) => m.get(key)?.[i] ?? Number.NaN).filter((x) => !Number.isNaN(x));
    return v.length ? `${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)}` : '-';
  };
  const head = ['backend size', '÷512³', '÷1024³', 'ratio (torch ÷ ours)', 'torch÷512³'];
  const lines = [...all[0].keys()].map((k) => [k, range(0, k), range(1, k), range(2, k), range(3, k)]);
  const widths = head.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c].length)));
  for (const l of [head, ...lines]) console.log(l.map((v, c) => v.padStart(widths[c])).join('  '));
}

await main();
