// Course rules over HTTP with a fake clock: due date and late policies, attempt limits, release of
// feedback, which submission counts; rosters and token rotation; partial credit in the report formats.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';
import { gradingClient, TEACHER, teacher } from '../helpers/grading-http.js';

const DUE = '2026-12-08T12:00:00.000Z';
const HOUR = 3_600_000;
let clock = Date.parse('2026-12-01T09:00:00Z');
const at = (iso: string) => {
  clock = Date.parse(iso);
};
let app: FastifyInstance;
let client: ReturnType<typeof gradingClient>;

beforeAll(async () => {
  app = await testApp({ env: { UNROLL_INSTRUCTOR_TOKENS: TEACHER }, now: () => new Date(clock) });
  client = gradingClient(app);
});
afterAll(() => app.close());
beforeEach(() => at('2026-12-01T09:00:00Z'));

const patch = (id: string, payload: object) =>
  app.inject({ method: 'PATCH', url: `/v1/assignments/${id}`, headers: teacher, payload });
async function ex2(rules: object) {
  const r = await client.create({ preset: 'sheet-ex2', rules });
  expect(r.statusCode).toBe(201);
  return r.json().id as string;
}
async function submitAs(id: string, student: string, answers?: object, query = '') {
  const p = await client.problemOf(id, student);
  return client.submit(id, p.token, { student, answers: answers ?? (await client.answersFor(p)) }, query);
}

describe('course rules', () => {
  it('an assignment without rules is as before: visible, latest counts, no limits; the rules are in its view', async () => {
    const r = await client.create({ preset: 'sheet-ex2' });
    expect(r.json().rules).toEqual({
      dueAt: null,
      late: null,
      attempts: null,
      release: 'visible',
      published: false,
      publishedAt: null,
      counts: 'latest',
    });
    const s = (await submitAs(r.json().id, 'ann')).json();
    expect(s.score).toBe(5);
    expect(s.rules).toMatchObject({ attempt: 1, attempts: null, late: false, factor: 1, rawScore: 5 });
  });

  it('400 for rules that do not fit together, naming the rule', async () => {
    const r = await client.create({ preset: 'sheet-ex2', rules: { late: { factor: 0.5 } } });
    expect(r.statusCode).toBe(400);
    expect(r.json().issues[0].path).toEqual(['rules', 'late']);
    const both = await client.create({
      preset: 'sheet-ex2',
      rules: { dueAt: DUE, late: { factor: 0.5, penaltyPerDay: 0.1 } },
    });
    expect(both.statusCode).toBe(400);
    const release = await client.create({ preset: 'sheet-ex2', rules: { release: 'after_due_date' } });
    expect(release.json().issues[0].path).toEqual(['rules', 'release']);
  });

  it('attempt n of m in every report; the attempt after the limit is a 409 that says so', async () => {
    const id = await ex2({ attempts: 2 });
    const one = (await submitAs(id, 'bea')).json();
    expect(one.rules.notes).toContain('Attempt 1 of 2.');
    const two = (await submitAs(id, 'bea', {}, '?format=gradescope')).json();
    expect(two.output).toContain('Attempt 2 of 2.');
    expect(two.extra_data.rules).toMatchObject({ attempt: 2, attempts: 2 });
    const three = await submitAs(id, 'bea');
    expect(three.statusCode).toBe(409);
    expect(three.json().detail).toContain('2 of 2');
    // another student has their own attempts
    expect((await submitAs(id, 'cal')).statusCode).toBe(200);
  });

  it('a due date without a late policy is the deadline: 403 after it', async () => {
    const id = await ex2({ dueAt: DUE });
    at('2026-12-08T11:59:59Z');
    expect((await submitAs(id, 'dan')).json().rules.notes).toContain(`On time (due ${DUE}).`);
    at('2026-12-08T12:00:01Z');
    const late = await submitAs(id, 'dan');
    expect(late.statusCode).toBe(403);
    expect(late.json().detail).toContain('takes no late submissions');
  });

  it('penalty per started late day, down to zero, until the hard deadline', async () => {
    const id = await ex2({ dueAt: DUE, late: { penaltyPerDay: 0.25, until: '2026-12-12T12:00:00Z' } });
    clock = Date.parse(DUE) + HOUR; // one started day
    const a = (await submitAs(id, 'eve')).json();
    expect(a).toMatchObject({ score: 3.75, rules: { late: true, daysLate: 1, factor: 0.75, rawScore: 5 } });
    expect(a.rules.notes.join(' ')).toContain('1 day after the due date');
    clock = Date.parse(DUE) + 2 * 24 * HOUR + HOUR; // three started days
    const pl = (await submitAs(id, 'eve', undefined, '?format=prairielearn')).json();
    expect(pl.score).toBeCloseTo(0.25, 12);
    expect(pl.output).toContain('score × 0.25');
    clock = Date.parse(DUE) + 3 * 24 * HOUR + HOUR; // four days: 0 points, still taken
    expect((await submitAs(id, 'eve')).json().score).toBe(0);
    at('2026-12-12T12:00:01Z');
    const closed = await submitAs(id, 'eve');
    expect(closed.statusCode).toBe(403);
    expect(closed.json().detail).toContain('late deadline');
  });

  it('a fixed late factor', async () => {
    const id = await ex2({ dueAt: DUE, late: { factor: 0.5 } });
    at('2026-12-20T00:00:00Z');
    expect((await submitAs(id, 'fay')).json()).toMatchObject({ score: 2.5, rules: { factor: 0.5, daysLate: 12 } });
  });

  it('release after_due_date: the student sees a withheld report until the due date, the instructor everything', async () => {
    const id = await ex2({ dueAt: DUE, release: 'after_due_date' });
    const p = await client.problemOf(id, 'gil');
    const r = (await client.submit(id, p.token, { student: 'gil', answers: await client.answersFor(p) })).json();
    expect(r).toMatchObject({ withheld: true, student: 'gil' });
    expect(r.score).toBeUndefined();
    expect(r.message).toContain(`hidden until the due date ${DUE}`);
    const own = await client.get(`/v1/assignments/${id}/submissions/${r.id}`, p.token);
    expect(own.json().withheld).toBe(true);
    const list = await client.get(`/v1/assignments/${id}/submissions?student=gil`, p.token);
    expect(list.statusCode).toBe(403);
    const mine = (await client.get(`/v1/assignments/${id}/submissions/${r.id}?format=gradescope`)).json();
    expect(mine).toMatchObject({ score: 5, visibility: 'after_due_date', stdout_visibility: 'hidden' });
    expect(mine.tests.every((t: { visibility: string }) => t.visibility === 'after_due_date')).toBe(true);
    at('2026-12-08T12:00:00Z');
    expect((await client.get(`/v1/assignments/${id}/submissions/${r.id}`, p.token)).json().score).toBe(5);
  });

  it('release after_published: hidden until the instructor publishes (PATCH rules.published)', async () => {
    const id = await ex2({ release: 'after_published' });
    const p = await client.problemOf(id, 'hal');
    const r = (await client.submit(id, p.token, { student: 'hal', answers: {} })).json();
    expect(r.withheld).toBe(true);
    expect(r.message).toContain('until the instructor publishes them');
    const pub = await patch(id, { rules: { published: true } });
    expect(pub.json()).toMatchObject({ regrade: null, assignment: { rules: { published: true } } });
    expect(pub.json().assignment.rules.publishedAt).toBe(new Date(clock).toISOString());
    expect((await client.get(`/v1/assignments/${id}/submissions/${r.id}`, p.token)).json().score).toBe(0);
  });

  it('which submission counts: best, latest, latest-before-due, in the gradebook (keep=counted) and the report', async () => {
    const best = await ex2({ counts: 'best' });
    const full = (await submitAs(best, 'ida')).json();
    expect(full.rules.notes).toContain('This submission counts (your best submission).');
    const worse = (await submitAs(best, 'ida', {})).json();
    expect(worse.rules.notes).toContain('An earlier submission still counts (your best submission, 5 points).');
    const gb = (await client.get(`/v1/assignments/${best}/submissions?keep=counted`)).json();
    expect(gb.submissions.map((s: { id: string }) => s.id)).toEqual([full.id]);

    const due = await ex2({ dueAt: DUE, late: { factor: 0.5 }, counts: 'latest-before-due' });
    const onTime = (await submitAs(due, 'jo', {})).json();
    at('2026-12-09T00:00:00Z');
    const late = (await submitAs(due, 'jo')).json();
    expect(late.score).toBe(2.5);
    expect(late.rules.notes.at(-1)).toContain('An earlier submission still counts');
    const csv = (await client.get(`/v1/assignments/${due}/submissions?format=csv&keep=counted`)).body;
    expect(csv).toContain(onTime.id);
    expect(csv).not.toContain(late.id);
    // a student with only late submissions: the latest late one counts
    const only = (await submitAs(due, 'kim')).json();
    const rows = (await client.get(`/v1/assignments/${due}/submissions?keep=counted`)).json().submissions;
    expect(rows.map((s: { id: string }) => s.id)).toEqual([onTime.id, only.id]);
  });
});

describe('rosters', () => {
  const rosterPost = (id: string, payload: string | object, type = 'application/json', query = '') =>
    app.inject({
      method: 'POST',
      url: `/v1/assignments/${id}/roster${query}`,
      headers: { ...teacher, 'content-type': type },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });

  it('CSV in (header, quoted names), student,token CSV out; ids outside the roster are refused', async () => {
    const id = await ex2({});
    const r = await rosterPost(id, 'Email,Name,SID\r\nana@u.edu,"Ana, A.",ana\r\nbo@u.edu,Bo,bo\r\n', 'text/csv');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toContain('text/csv');
    const lines = r.body.trim().split('\r\n');
    expect(lines[0]).toBe('student,token,name,email');
    expect(lines[1]).toMatch(/^ana,[\w-]+,"Ana, A\.",ana@u\.edu$/);
    const anaToken = lines[1].split(',')[1];
    expect(anaToken).toBe((await client.problemOf(id, 'ana')).token);
    const out = await app.inject({ method: 'GET', url: `/v1/assignments/${id}/problems/zed`, headers: teacher });
    expect(out.statusCode).toBe(403);
    expect(out.json().detail).toContain('not on the roster');
    // a JSON roster adds to it
    const j = await rosterPost(
      id,
      { students: ['zed', { id: 'yan', name: 'Yan', email: 'y@u.edu' }] },
      undefined,
      '?format=json',
    );
    expect(j.json().students.map((s: { student: string }) => s.student)).toEqual(['ana', 'bo', 'yan', 'zed']);
    expect((await submitAs(id, 'zed')).statusCode).toBe(200);
  });

  it('400 naming the line of a bad or repeated id', async () => {
    const id = await ex2({});
    const r = await rosterPost(id, 'student\nok\n-bad\nok\n', 'text/csv');
    expect(r.statusCode).toBe(400);
    expect(r.json().issues.map((i: { path: string[] }) => i.path)).toEqual([['line 3'], ['line 4']]);
  });

  it('rotating a token: the old one is refused, the new one works, earlier submissions are still the student’s', async () => {
    const id = await ex2({});
    await rosterPost(id, ['lee']);
    const old = (await client.problemOf(id, 'lee')).token;
    const first = (await submitAs(id, 'lee')).json();
    const rot = await app.inject({ method: 'POST', url: `/v1/assignments/${id}/roster/lee/token`, headers: teacher });
    const token = rot.json().token;
    expect(token).not.toBe(old);
    expect((await client.submit(id, old, { student: 'lee', answers: {} })).statusCode).toBe(403);
    expect((await client.get(`/v1/assignments/${id}/submissions/${first.id}`, old)).statusCode).toBe(404);
    const mine = await client.get(`/v1/assignments/${id}/submissions/${first.id}`, token);
    expect(mine.json().score).toBe(5);
    const second = (await client.submit(id, token, { student: 'lee', answers: {} })).json();
    expect(second.rules.attempt).toBe(2);
    expect((await client.get(`/v1/assignments/${id}/roster`)).body).toContain(`lee,${token}`);
    // off the roster: 404
    const no = await app.inject({ method: 'POST', url: `/v1/assignments/${id}/roster/nobody/token`, headers: teacher });
    expect(no.statusCode).toBe(404);
  });

  it('roster routes are the instructor’s', async () => {
    const id = await ex2({});
    const p = await client.problemOf(id, 'mo');
    expect((await client.get(`/v1/assignments/${id}/roster`, p.token)).statusCode).toBe(403);
  });
});

describe('partial credit', () => {
  it('the fraction of elements within tolerance, in the report and as PrairieLearn partial_scores', async () => {
    const r = await client.create({
      preset: 'sheet-ex2',
      questions: [
        { id: 'y', quantity: 'y', points: 2, partial: true },
        { id: 'hT', quantity: 'hT', points: 1 },
      ],
    });
    const id = r.json().id;
    const p = await client.problemOf(id, 'nia');
    const a = await client.answersFor(p);
    const y = a.y.map((row: number[], b: number) => (b < 2 ? row.map((v) => v + 1) : row)); // 6 of 15 wrong
    const hT = a.hT.map((row: number[]) => row.map((v) => v + 1));
    const rep = (await client.submit(id, p.token, { student: 'nia', answers: { y, hT } })).json();
    expect(rep.questions[0]).toMatchObject({ status: 'incorrect', points: 1.2 });
    expect(rep.questions[0].feedback).toContain('Partial credit: 9 of 15 values within tolerance, 1.2 of 2 points.');
    expect(rep.questions[1].points).toBe(0);
    expect(rep.score).toBe(1.2);
    const pl = (
      await client.submit(id, p.token, { student: 'nia', answers: { y, hT } }, '?format=prairielearn')
    ).json();
    expect(pl.partial_scores.y).toMatchObject({ score: 0.6, weight: 2 });
    expect(pl.partial_scores.hT).toMatchObject({ score: 0, weight: 1 });
    expect(pl.score).toBeCloseTo(0.4, 12);
  });
});
