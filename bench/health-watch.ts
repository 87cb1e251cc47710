// What bench:responsive and bench:limits both watch while their load runs: /health's latency, probed one at a
// time every few milliseconds, and the server's peak RSS (from /proc, every 100 ms).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** The process's resident memory in MB (NaN once it has gone). */
export const rssMb = (pid: number) => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
};

export const quantile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;

/** Probes /health (`probe`) every `everyMs` and samples `pid`'s RSS every 100 ms, until `stop` resolves. */
export async function watchHealth(
  pid: number,
  stop: Promise<unknown>,
  everyMs: number,
  probe: () => Promise<{ status: number; ms: number }>,
) {
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
      const r = await probe();
      if (r.status === 200) latencies.push(r.ms);
      else failures++;
    } catch {
      failures++;
    }
    const wait = everyMs - (performance.now() - t0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  clearInterval(sampler);
  latencies.sort((a, b) => a - b);
  return {
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: latencies.at(-1) ?? Number.NaN,
    probes: latencies.length,
    failures,
    peakRssMb: peak,
  };
}
