// `npm run bench:v2`: what the Open Inference Protocol layer costs per request, over a real socket (fetch,
// keep-alive): /v1 forward vs /v2 infer (JSON and binary), and a sequence fed one timestep per request
// (stateful) vs the whole sequence in one request. Median µs over REPEATS requests after WARMUP.
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/open.js';
import { buildApp } from '../src/http/app.js';
import { INFERENCE_HEADER } from '../src/http/v2-binary.js';

const WARMUP = 50;
const REPEATS = Number(process.env.REPEATS ?? 300);
const [B, T, d, H, C] = [1, 100, 32, 128, 10];

const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent' }), {
  db: await openDatabase({ dataDir: ':memory:' }),
  pool: null,
  logger: false,
});
const base = await app.listen({ host: '127.0.0.1', port: 0 });
await fetch(`${base}/v1/models`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ name: 'bench', config: { inputSize: d, hiddenSize: H, outputSize: C }, init: { seed: 1 } }),
});

const xs = Array.from({ length: B * T * d }, (_, i) => Math.sin(i));
const nested = (t0: number, t1: number) =>
  Array.from({ length: B }, (_, b) =>
    Array.from({ length: t1 - t0 }, (_, t) => xs.slice((b * T + t0 + t) * d, (b * T + t0 + t + 1) * d)),
  );
const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
const v2 = (t0: number, t1: number, parameters?: Record<string, unknown>) =>
  json({
    ...(parameters ? { parameters } : {}),
    inputs: [{ name: 'x', shape: [B, t1 - t0, d], datatype: 'FP64', data: xs.slice(t0 * d, t1 * d) }],
  });
const header = Buffer.from(
  JSON.stringify({
    inputs: [{ name: 'x', shape: [B, T, d], datatype: 'FP64', parameters: { binary_data_size: xs.length * 8 } }],
  }),
);
const binary = {
  method: 'POST',
  headers: { [INFERENCE_HEADER]: String(header.length) },
  body: new Uint8Array(Buffer.concat([header, Buffer.from(Float64Array.from(xs).buffer)])),
};

async function median(run: (i: number) => Promise<void>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await run(i);
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    await run(i);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1] * 1000;
}

const call = async (url: string, init: RequestInit) => {
  const r = await fetch(`${base}${url}`, init);
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${await r.text()}`);
  await r.arrayBuffer();
};

const rows: [string, number][] = [
  [
    '/v1/models/bench/forward, whole sequence',
    await median(() => call('/v1/models/bench/forward', json({ x: nested(0, T) }))),
  ],
  ['/v2 infer JSON, whole sequence', await median(() => call('/v2/models/bench/infer', v2(0, T)))],
  ['/v2 infer binary, whole sequence', await median(() => call('/v2/models/bench/infer', binary))],
  ['/v2 infer JSON, one step, stateless', await median(() => call('/v2/models/bench/infer', v2(0, 1)))],
  [
    '/v2 infer JSON, one step of a sequence',
    await median((i) =>
      call('/v2/models/bench/infer', v2(i % T, (i % T) + 1, { sequence_id: 'bench', sequence_start: i % T === 0 })),
    ),
  ],
];
await app.close();
console.log(
  `B=${B} T=${T} d=${d} H=${H} C=${C}; median of ${REPEATS} requests over fetch (keep-alive), inline compute`,
);
for (const [what, us] of rows) console.log(`${what.padEnd(44)} ${us.toFixed(0).padStart(7)} µs`);
const [, step] = rows[4];
console.log(`a sequence of T=${T} fed one step per request: ~${((step * T) / 1000).toFixed(1)} ms in all`);
