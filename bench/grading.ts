// `npm run bench:grading`: sheet-size submissions (the sheet-ex2 preset: B = 5, T = 13, d = 7, H = 10, C = 3)
// graded per second: grade() alone, through the service (stored in SQLite on disk), over HTTP with
// app.inject, and over a real socket. The preset's questions need one forward pass; wrong answers also make
// the catalogue recompute them under each mistake that applies.
//   npm run bench:grading              the table
//   npm run bench:grading -- --seconds 1
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/open.js';
import { PRESETS } from '../src/grading/assignments.js';
import { grade } from '../src/grading/grade.js';
import { deriveProblem } from '../src/grading/problems.js';
import { Solution } from '../src/grading/quantities.js';
import { buildApp } from '../src/http/app.js';

const args = process.argv.slice(2);
const SECONDS = Number(args[args.indexOf('--seconds') + 1]) || 2;
const TEACHER = 'bench';
const STUDENTS = 64;
const IN_FLIGHT = 8;

/** Calls per second of an async function, after a short warm-up, over SECONDS. */
async function rate(f: (i: number) => unknown, concurrency = 1): Promise<number> {
  let n = 0;
  // each of `concurrency` loops awaits its own call before the next: that many requests in flight
  const loops = async (until: number) => {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) await f(n++);
      }),
    );
  };
  await loops(performance.now() + 300);
  n = 0;
  const t0 = performance.now();
  await loops(t0 + SECONDS * 1000);
  return n / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'unroll-bench-grading-'));
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    UNROLL_INSTRUCTOR_TOKENS: TEACHER,
    UNROLL_SUBMISSION_RATE_MAX: String(1e9),
  });
  const db = await openDatabase({ dataDir: dir });
  const app = await buildApp(config, { db, pool: null, logger: false });
  const auth = { authorization: `Bearer ${TEACHER}` };
  try {
    const id = (
      await app.inject({ method: 'POST', url: '/v1/assignments', headers: auth, payload: { preset: 'sheet-ex2' } })
    ).json().id;
    // each student's true answers (and a wrong set: every value negated), from their own problem
    const students = await Promise.all(
      Array.from({ length: STUDENTS }, async (_, s) => {
        const student = `s${s}`;
        const p = (
          await app.inject({ method: 'GET', url: `/v1/assignments/${id}/problems/${student}`, headers: auth })
        ).json();
        const b = (
          await app.inject({
            method: 'POST',
            url: '/v1/bptt',
            payload: { model: p.problem.model, x: p.problem.x, targets: p.problem.targets },
          })
        ).json();
        const right = { 'out-shape': [5, 3], y: b.y, hT: b.hT, loss: b.loss };
        const neg = (v: number[][]) => v.map((r) => r.map((e) => -e));
        const wrong = { 'out-shape': [3, 5], y: neg(b.y), hT: neg(b.hT), loss: -b.loss };
        return { student, token: p.token as string, right, wrong };
      }),
    );
    const stored = await db.kysely
      .selectFrom('assignments')
      .select('secret')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    const spec = PRESETS['sheet-ex2'];
    const rows: [string, number][] = [];

    rows.push([
      'derive a problem + one BPTT of it (for scale)',
      await rate((i) => new Solution(deriveProblem(spec, stored.secret, students[i % STUDENTS].student)).value('dh')),
    ]);
    for (const kind of ['right', 'wrong'] as const) {
      rows.push([
        `grade(), ${kind} answers`,
        await rate((i) => {
          const s = students[i % STUDENTS];
          return grade(deriveProblem(spec, stored.secret, s.student), spec.questions, s[kind]);
        }),
      ]);
      rows.push([
        `service (+ SQLite on disk), ${kind} answers`,
        await rate((i) => {
          const s = students[i % STUDENTS];
          return app.services.grading.submit(s.token, id, { student: s.student, answers: s[kind] }, 'json');
        }),
      ]);
      rows.push([
        `HTTP app.inject, ${kind} answers`,
        await rate((i) => {
          const s = students[i % STUDENTS];
          return app.inject({
            method: 'POST',
            url: `/v1/assignments/${id}/submissions`,
            headers: { authorization: `Bearer ${s.token}` },
            payload: { student: s.student, answers: s[kind] },
          });
        }),
      ]);
    }
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const bodies = students.map((s) => JSON.stringify({ student: s.student, answers: s.right }));
    const post = async (i: number) => {
      const s = students[i % STUDENTS];
      const r = await fetch(`${url}/v1/assignments/${id}/submissions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
        body: bodies[i % STUDENTS],
      });
      await r.arrayBuffer();
    };
    rows.push(['HTTP real socket (fetch, one at a time), right answers', await rate(post)]);
    rows.push([`HTTP real socket (fetch, ${IN_FLIGHT} in flight), right answers`, await rate(post, IN_FLIGHT)]);

    console.log(
      `# unroll grading bench: sheet-ex2 submissions (4 questions) per second, ${SECONDS} s each, node ${process.version}`,
    );
    const w = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v.toFixed(0).padStart(8)} /s`);
  } finally {
    await app.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
