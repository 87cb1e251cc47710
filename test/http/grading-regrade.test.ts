// Regrade over a real SQLite file (and a PostgreSQL database, when the server answers): submissions
// stored, the process restarted, a tolerance loosened and a question added; every submission regraded from
// its stored answers, old and new scores kept with the reason and time, and the gradebook showing the
// current score.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';
import { gradingClient, TEACHER, teacher } from '../helpers/grading-http.js';
import { type FreshDatabase, freshDatabase, pgReachable } from '../helpers/pg.js';

const dir = mkdtempSync(join(tmpdir(), 'unroll-regrade-'));
const env = { UNROLL_INSTRUCTOR_TOKENS: TEACHER };
let clock = Date.parse('2026-12-01T10:00:00Z');
const PG = await pgReachable();
let pgDb: FreshDatabase | undefined;
let app: FastifyInstance | undefined;
afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
  await pgDb?.drop();
});

const stores = [
  { name: 'a SQLite file', on: true, start: () => testApp({ env, dataDir: dir, now: () => new Date(clock) }) },
  {
    name: 'PostgreSQL',
    on: PG,
    start: async () => {
      pgDb ??= await freshDatabase('course');
      return testApp({ env, databaseUrl: pgDb.url, now: () => new Date(clock) });
    },
  },
];

describe.each(stores)('regrade after a restart, on $name', ({ on, start }) => {
  if (!on) it.skip('PostgreSQL at 127.0.0.1:5432 does not answer', () => {});
  if (!on) return;
  it('loosened tolerance and a new question: old and new scores, reason, timestamp; the gradebook is current', async () => {
    await app?.close();
    app = await start();
    let client = gradingClient(app);
    const id = (
      await client.create({
        preset: 'sheet-ex2',
        questions: [
          { id: 'y', quantity: 'y', points: 2, rtol: 1e-6 },
          { id: 'loss', quantity: 'loss', points: 1 },
        ],
      })
    ).json().id;
    const p = await client.problemOf(id, 'ola');
    const right = await client.answersFor(p);
    // y off by 1e-4 relative: wrong at rtol 1e-6, right at the default 1e-2
    const y = right.y.map((row: number[]) => row.map((v) => v * (1 + 1e-4)));
    const first = (await client.submit(id, p.token, { student: 'ola', answers: { y, loss: right.loss } })).json();
    expect(first.score).toBe(1);
    await app.close();

    clock += 3_600_000;
    app = await start();
    client = gradingClient(app);
    const r = await app.inject({
      method: 'PATCH',
      url: `/v1/assignments/${id}`,
      headers: teacher,
      payload: {
        reason: 'rtol 1e-6 was too strict; hT added',
        questions: [
          { id: 'y', quantity: 'y', points: 2 },
          { id: 'loss', quantity: 'loss', points: 1 },
          { id: 'hT', quantity: 'hT', points: 1 },
        ],
      },
    });
    expect(r.statusCode).toBe(200);
    const at = new Date(clock).toISOString();
    expect(r.json().regrade).toEqual({ reason: 'rtol 1e-6 was too strict; hT added', at, submissions: 1, changed: 1 });
    const now = (await client.get(`/v1/assignments/${id}/submissions/${first.id}`)).json();
    expect(now).toMatchObject({ id: first.id, student: 'ola', submittedAt: first.submittedAt, score: 3, maxScore: 4 });
    expect(now.questions.map((q: { status: string }) => q.status)).toEqual(['correct', 'correct', 'missing']);
    expect(now.regrades).toEqual([{ at, reason: 'rtol 1e-6 was too strict; hT added', oldScore: 1, newScore: 3 }]);
    const history = (await client.get(`/v1/assignments/${id}/regrades`)).json();
    expect(history.regrades).toEqual([
      {
        submission: first.id,
        student: 'ola',
        oldScore: 1,
        newScore: 3,
        reason: 'rtol 1e-6 was too strict; hT added',
        at,
      },
    ]);
    const csv = (await client.get(`/v1/assignments/${id}/submissions?format=csv`)).body.trim().split('\r\n');
    expect(csv[0]).toBe('submission,student,submitted_at,score,max_score,y,loss,hT');
    expect(csv[1]).toBe(`${first.id},ola,${first.submittedAt},3,4,2,1,0`);
    clock += 60_000;

    // a regrade on demand (nothing changed) is recorded too; a title change alone regrades nothing
    const again = await app.inject({
      method: 'POST',
      url: `/v1/assignments/${id}/regrade`,
      headers: teacher,
      payload: { reason: 'mistake catalogue updated' },
    });
    expect(again.json()).toMatchObject({ submissions: 1, changed: 0 });
    const title = await app.inject({
      method: 'PATCH',
      url: `/v1/assignments/${id}`,
      headers: teacher,
      payload: { title: 'Ex. 2' },
    });
    expect(title.json()).toMatchObject({ regrade: null, assignment: { title: 'Ex. 2' } });
    expect((await client.get(`/v1/assignments/${id}/regrades`)).json().regrades).toHaveLength(2);
  });

  it('only an instructor changes or regrades; the problems do not change (config is not editable)', async () => {
    app ??= await start();
    const client = gradingClient(app);
    const id = (await client.create({ preset: 'sheet-ex2' })).json().id;
    const p = await client.problemOf(id, 'pat');
    const r = await app.inject({
      method: 'PATCH',
      url: `/v1/assignments/${id}`,
      headers: { authorization: `Bearer ${p.token}` },
      payload: { title: 'x' },
    });
    expect(r.statusCode).toBe(403);
    const bad = await app.inject({
      method: 'PATCH',
      url: `/v1/assignments/${id}`,
      headers: teacher,
      payload: { steps: 3 },
    });
    expect(bad.statusCode).toBe(400);
  });
});
