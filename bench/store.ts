// `npm run bench:store`: what the shared store costs. POST /v1/models and a graded submission (the sheet-ex2
// preset, right answers, 64 students) over a real socket with autocannon, on SQLite (a file in a temp dir)
// and on PostgreSQL (a fresh database on UNROLL_BENCH_DATABASE_URL's server, default 127.0.0.1:5432,
// dropped after), one after the other in one process, so their ratio is what to read.
//   npm run bench:store
//   npm run bench:store -- --seconds 5 --connections 16
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/open.js';
import { buildApp } from '../src/http/app.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const SECONDS = Number(flag('--seconds', '5'));
const CONNECTIONS = Number(flag('--connections', '16'));
const ADMIN = process.env.UNROLL_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TEACHER = 'bench';
const STUDENTS = 64;

const model = JSON.stringify({ config: { inputSize: 7, hiddenSize: 10, outputSize: 3 }, init: { seed: 1 } });

interface Row {
  store: string;
  route: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function admin(q: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN });
  await c.connect();
  try {
    await c.query(q);
  } finally {
    await c.end();
  }
}

async function measure(store: string, url?: string): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'unroll-bench-store-'));
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    UNROLL_INSTRUCTOR_TOKENS: TEACHER,
    UNROLL_SUBMISSION_RATE_MAX: String(1e9),
    UNROLL_DASHBOARD: 'false',
  });
  const db = await openDatabase({ url, dataDir: dir });
  const app = await buildApp(config, { db, pool: null, logger: false });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const rows: Row[] = [];
  const run = async (route: string, opts: autocannon.Options) => {
    await autocannon({ ...opts, duration: 1 }); // warm-up
    const r = await autocannon({ ...opts, duration: SECONDS });
    rows.push({
      store,
      route,
      rps: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      errors: r.errors + r.non2xx,
    });
  };
  try {
    const json = { 'content-type': 'application/json' };
    await run('POST /v1/models', {
      url: `${base}/v1/models`,
      method: 'POST',
      headers: json,
      body: model,
      connections: CONNECTIONS,
    });

    const auth = { authorization: `Bearer ${TEACHER}` };
    const id = (
      await app.inject({ method: 'POST', url: '/v1/assignments', headers: auth, payload: { preset: 'sheet-ex2' } })
    ).json().id;
    const subs = await Promise.all(
      Array.from({ length: STUDENTS }, async (_, s) => {
        const p = (await app.inject({ url: `/v1/assignments/${id}/problems/s${s}`, headers: auth })).json();
        const b = (
          await app.inject({
            method: 'POST',
            url: '/v1/bptt',
            payload: { model: p.problem.model, x: p.problem.x, targets: p.problem.targets },
          })
        ).json();
        return {
          headers: { ...json, authorization: `Bearer ${p.token}` },
          body: JSON.stringify({ student: `s${s}`, answers: { 'out-shape': [5, 3], y: b.y, hT: b.hT, loss: b.loss } }),
        };
      }),
    );
    let next = 0;
    await run('POST …/submissions (graded)', {
      url: `${base}/v1/assignments/${id}/submissions`,
      connections: CONNECTIONS,
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => ({ ...req, ...subs[next++ % subs.length] }),
        },
      ],
    });
  } finally {
    await app.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

const rows = await measure('SQLite (file, WAL)');
const name = `unroll_bench_${randomBytes(4).toString('hex')}`;
let pgRows: Row[] = [];
try {
  await admin(`CREATE DATABASE ${name}`);
  const u = new URL(ADMIN);
  u.pathname = `/${name}`;
  try {
    pgRows = await measure('PostgreSQL 15 (localhost)', u.toString());
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
} catch (err) {
  console.log(`PostgreSQL not measured: ${(err as Error).message}`);
}

console.log(
  `\n${SECONDS} s per row, ${CONNECTIONS} connections, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log('| store | request | req/s | p50 ms | p99 ms | errors |');
console.log('| --- | --- | ---: | ---: | ---: | ---: |');
for (const r of [...rows, ...pgRows])
  console.log(`| ${r.store} | ${r.route} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} |`);
for (const route of new Set(rows.map((r) => r.route))) {
  const a = rows.find((r) => r.route === route);
  const b = pgRows.find((r) => r.route === route);
  if (a && b) console.log(`${route}: PostgreSQL/SQLite req/s = ${(b.rps / a.rps).toFixed(2)}`);
}
