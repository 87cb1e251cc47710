// Autograding over HTTP: assignments from a preset or explicit, per-student problems, submissions graded
// against answers computed with the compute routes, report formats and the instructor's export.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';
import { gradingClient, TEACHER, teacher } from '../helpers/grading-http.js';

let app: FastifyInstance;
let ex2: string;
let client: ReturnType<typeof gradingClient>;
const create = (payload: object, headers?: Record<string, string>) => client.create(payload, headers);
const problemOf = (id: string, student: string) => client.problemOf(id, student);
const submit = (id: string, token: string, payload: object, query = '') => client.submit(id, token, payload, query);
const answersFor = (p: Parameters<typeof client.answersFor>[0]) => client.answersFor(p);

beforeAll(async () => {
  app = await testApp({ env: { UNROLL_INSTRUCTOR_TOKENS: `other, ${TEACHER}` } });
  client = gradingClient(app);
  ex2 = (await create({ preset: 'sheet-ex2' })).json().id;
});
afterAll(() => app.close());

describe('assignments', () => {
  it('a preset reproduces the sheet: B = 5, T = 13, d = 7, H = 10, C = 3, with the output-shape question', async () => {
    const r = await app.inject({ method: 'GET', url: `/v1/assignments/${ex2}`, headers: teacher });
    expect(r.json()).toMatchObject({
      batch: 5,
      steps: 13,
      config: { inputSize: 7, hiddenSize: 10, outputSize: 3, activation: 'tanh' },
      questions: expect.arrayContaining([expect.objectContaining({ quantity: 'y.shape' })]),
    });
    const presets = (await app.inject({ method: 'GET', url: '/v1/assignments/presets', headers: teacher })).json();
    expect(Object.keys(presets.presets)).toEqual(['sheet-ex2', 'sheet-ex3']);
  });

  it('explicit fields, with default points and tolerances; a preset’s fields can be overridden', async () => {
    const r = await create({
      title: 'BPTT',
      config: { inputSize: 2, hiddenSize: 3, outputSize: 2 },
      batch: 2,
      steps: 3,
      questions: [
        { id: 'dU', quantity: 'grads.U.weight' },
        { id: 'dh', quantity: 'dh', points: 2, rtol: 1e-4 },
      ],
    });
    expect(r.statusCode).toBe(201);
    expect(r.headers.location).toBe(`/v1/assignments/${r.json().id}`);
    expect(r.json().questions).toEqual([
      { id: 'dU', quantity: 'grads.U.weight', points: 1, rtol: 1e-2, atol: 1e-8 },
      { id: 'dh', quantity: 'dh', points: 2, rtol: 1e-4, atol: 1e-8 },
    ]);
    expect(r.json().maxScore).toBe(3);
    const o = await create({ preset: 'sheet-ex2', steps: 4, title: 'short' });
    expect(o.json()).toMatchObject({ steps: 4, batch: 5, title: 'short', preset: 'sheet-ex2' });
  });

  it('400 naming the path: fields missing without a preset, a question id twice, an unknown quantity', async () => {
    const r = await create({ title: 't', batch: 1, steps: 1, questions: [{ id: 'a', quantity: 'y' }] });
    expect(r.statusCode).toBe(400);
    expect(r.json().issues).toEqual([expect.objectContaining({ path: ['config'] })]);
    const dup = await create({
      preset: 'sheet-ex2',
      questions: [
        { id: 'a', quantity: 'y' },
        { id: 'a', quantity: 'h' },
      ],
    });
    expect(dup.json().issues[0].path).toEqual(['questions', 1, 'id']);
    const q = await create({ preset: 'sheet-ex2', questions: [{ id: 'a', quantity: 'grads.X' }] });
    expect(q.json().issues[0].path).toEqual(['questions', 0, 'quantity']);
  });

  it('413 when grading would cost more than UNROLL_GRADING_MAX_COST', async () => {
    const r = await create({
      preset: 'sheet-ex2',
      config: { inputSize: 64, hiddenSize: 256, outputSize: 10 },
      steps: 100,
    });
    expect(r.statusCode).toBe(413);
    expect(r.json().detail).toContain('UNROLL_GRADING_MAX_COST');
  });

  it('lists and deletes (with its submissions); 404 afterwards', async () => {
    const id = (await create({ preset: 'sheet-ex3' })).json().id;
    const list = (await app.inject({ method: 'GET', url: '/v1/assignments', headers: teacher })).json();
    expect(list.assignments.map((a: { id: string }) => a.id)).toContain(id);
    expect((await app.inject({ method: 'DELETE', url: `/v1/assignments/${id}`, headers: teacher })).statusCode).toBe(
      204,
    );
    expect((await app.inject({ method: 'GET', url: `/v1/assignments/${id}`, headers: teacher })).statusCode).toBe(404);
    const p = await app.inject({ method: 'GET', url: `/v1/assignments/${id}/problems/a`, headers: teacher });
    expect(p.statusCode).toBe(404);
  });
});

describe('problems and submissions', () => {
  it('each student’s problem is the same every time and different from the others’', async () => {
    const a1 = await problemOf(ex2, 'alice');
    const a2 = await problemOf(ex2, 'alice');
    const b = await problemOf(ex2, 'bob');
    expect(a2).toEqual(a1);
    expect(b.problem.x).not.toEqual(a1.problem.x);
    expect(b.problem.model.weights['U.weight']).not.toEqual(a1.problem.model.weights['U.weight']);
    expect(b.token).not.toBe(a1.token);
    expect(a1.problem.x).toHaveLength(5);
    expect(a1.problem.x[0]).toHaveLength(13);
  });

  it('the true answers score full marks; wrong, missing and malformed ones score nothing', async () => {
    const p = await problemOf(ex2, 'erin');
    const right = await submit(ex2, p.token, { student: 'erin', answers: await answersFor(p) });
    expect(right.statusCode).toBe(200);
    expect(right.json()).toMatchObject({ score: 5, maxScore: 5, student: 'erin' });
    const a = await answersFor(p);
    const wrong = await submit(ex2, p.token, { student: 'erin', answers: { y: a.hT, loss: a.loss * 5, hT: null } });
    const byId = Object.fromEntries(wrong.json().questions.map((q: { id: string }) => [q.id, q]));
    expect(byId.y).toMatchObject({ status: 'malformed', points: 0 });
    expect(byId.y.feedback).toContain('(5, 3)');
    expect(byId.loss).toMatchObject({ status: 'incorrect', mistake: { id: 'sum-instead-of-mean' } });
    expect(byId.hT.status).toBe('missing');
    expect(byId['out-shape'].status).toBe('missing');
  });

  it('400 naming the answer for a question the assignment does not have', async () => {
    const p = await problemOf(ex2, 'erin');
    const r = await submit(ex2, p.token, { student: 'erin', answers: { nope: 1 } });
    expect(r.statusCode).toBe(400);
    expect(r.json().issues[0].path).toEqual(['answers', 'nope']);
  });

  it('?format=gradescope and ?format=prairielearn', async () => {
    const p = await problemOf(ex2, 'fay');
    const answers = await answersFor(p);
    const gs = (await submit(ex2, p.token, { student: 'fay', answers }, '?format=gradescope')).json();
    expect(gs.score).toBe(5);
    expect(gs.tests[0]).toMatchObject({
      name: 'out-shape (y.shape)',
      score: 1,
      max_score: 1,
      status: 'passed',
      visibility: 'visible',
    });
    const pl = (
      await submit(ex2, p.token, { student: 'fay', answers: { y: answers.y } }, '?format=prairielearn')
    ).json();
    expect(pl).toMatchObject({ gradable: true, score: 0.4 });
    expect(pl.tests[1]).toMatchObject({ name: 'y', points: 2, max_points: 2 });
  });

  it('sheet-ex3: dh_t/dU of the scalar network at every t, answered as a list of T numbers', async () => {
    const id = (await create({ preset: 'sheet-ex3' })).json().id;
    const p = await problemOf(id, 'gus');
    const j = await app.inject({
      method: 'POST',
      url: '/v1/jacobian',
      payload: { model: p.problem.model, x: p.problem.x, wrt: ['U.weight'] },
    });
    const J = j.json().jacobian['U.weight'].flat(4);
    expect(J).toHaveLength(4);
    const r = (await submit(id, p.token, { student: 'gus', answers: { dh_dU: J } })).json();
    expect(r.questions[1]).toMatchObject({ id: 'dh_dU', status: 'correct', points: 3 });
  });
});

describe('the instructor’s export', () => {
  it('JSON with a score per question, and CSV, one row per submission; latest and best per student', async () => {
    const id = (await create({ preset: 'sheet-ex2' })).json().id;
    const p = await problemOf(id, 'hal');
    const answers = await answersFor(p);
    await submit(id, p.token, { student: 'hal', answers });
    await submit(id, p.token, { student: 'hal', answers: { y: answers.y } });
    const url = `/v1/assignments/${id}/submissions`;
    const all = (await app.inject({ method: 'GET', url, headers: teacher })).json();
    expect(all.questions).toEqual(['out-shape', 'y', 'hT', 'loss']);
    expect(all.submissions.map((s: { score: number }) => s.score)).toEqual([5, 2]);
    expect(all.submissions[1].scores).toEqual({ 'out-shape': 0, y: 2, hT: 0, loss: 0 });
    const best = (await app.inject({ method: 'GET', url: `${url}?keep=best`, headers: teacher })).json();
    expect(best.submissions.map((s: { score: number }) => s.score)).toEqual([5]);
    const latest = (await app.inject({ method: 'GET', url: `${url}?keep=latest`, headers: teacher })).json();
    expect(latest.submissions.map((s: { score: number }) => s.score)).toEqual([2]);
    const csv = await app.inject({ method: 'GET', url: `${url}?format=csv`, headers: teacher });
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    const lines = csv.body.trim().split('\r\n');
    expect(lines[0]).toBe('submission,student,submitted_at,score,max_score,out-shape,y,hT,loss');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^[0-9a-f-]{36},hal,[^,]+,5,5,1,2,1,1$/);
  });
});
