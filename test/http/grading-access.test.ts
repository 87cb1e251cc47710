// Autograding over HTTP, who may do what: instructors, students with their own token, nobody else; and the
// grading routes' own tokens when UNROLL_API_TOKENS guards the rest of /v1.
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

beforeAll(async () => {
  app = await testApp({ env: { UNROLL_INSTRUCTOR_TOKENS: `other, ${TEACHER}` } });
  client = gradingClient(app);
  ex2 = (await create({ preset: 'sheet-ex2' })).json().id;
});
afterAll(() => app.close());

describe('who may do what', () => {
  it('401 problem+json without a token, 403 with a token that is not an instructor’s', async () => {
    const none = await create({ preset: 'sheet-ex2' }, {});
    expect(none.statusCode).toBe(401);
    expect(none.headers['content-type']).toContain('application/problem+json');
    expect(none.headers['www-authenticate']).toContain('Bearer');
    expect((await create({ preset: 'sheet-ex2' }, { authorization: 'Bearer nope' })).statusCode).toBe(403);
    expect(
      (await app.inject({ method: 'GET', url: '/v1/assignments', headers: { authorization: 'Bearer x' } })).statusCode,
    ).toBe(403);
  });

  it('403 for everyone when no instructor tokens are configured', async () => {
    const bare = await testApp();
    try {
      const r = await bare.inject({
        method: 'POST',
        url: '/v1/assignments',
        headers: teacher,
        payload: { preset: 'sheet-ex2' },
      });
      expect(r.statusCode).toBe(403);
      expect(r.json().detail).toContain('UNROLL_INSTRUCTOR_TOKENS');
    } finally {
      await bare.close();
    }
  });

  it('a student sees their own problem with their token, never another’s', async () => {
    const alice = await problemOf(ex2, 'alice');
    const own = await app.inject({
      method: 'GET',
      url: `/v1/assignments/${ex2}/problems/alice`,
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect(own.statusCode).toBe(200);
    expect(own.json().problem.x).toEqual(alice.problem.x);
    const bob = await app.inject({
      method: 'GET',
      url: `/v1/assignments/${ex2}/problems/bob`,
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect(bob.statusCode).toBe(403);
  });

  it('a student submits only as themself; an instructor (a platform kit) may submit on a student’s behalf', async () => {
    const alice = await problemOf(ex2, 'alice');
    const r = await submit(ex2, alice.token, { student: 'bob', answers: {} });
    expect(r.statusCode).toBe(403);
    expect(r.headers['content-type']).toContain('application/problem+json');
    expect((await submit(ex2, TEACHER, { student: 'alice', answers: {} })).statusCode).toBe(200);
  });

  it('a student reads only their own reports', async () => {
    const carol = await problemOf(ex2, 'carol');
    const dave = await problemOf(ex2, 'dave');
    const mine = (await submit(ex2, dave.token, { student: 'dave', answers: { loss: 1 } })).json();
    const url = `/v1/assignments/${ex2}/submissions`;
    const as = (token: string, u: string) =>
      app.inject({ method: 'GET', url: u, headers: { authorization: `Bearer ${token}` } });
    expect((await as(dave.token, `${url}/${mine.id}`)).statusCode).toBe(200);
    expect((await as(carol.token, `${url}/${mine.id}`)).statusCode).toBe(404);
    expect((await as(carol.token, url)).statusCode).toBe(403); // a student must name themself
    expect((await as(carol.token, `${url}?student=dave`)).statusCode).toBe(403);
    const own = (await as(dave.token, `${url}?student=dave`)).json();
    expect(own.submissions.every((s: { student: string }) => s.student === 'dave')).toBe(true);
    expect(own.submissions.length).toBeGreaterThan(0);
  });
});

describe('with UNROLL_API_TOKENS set', () => {
  it('the grading routes still take instructor and student tokens; /v1/trace needs an API token', async () => {
    const locked = await testApp({ env: { UNROLL_INSTRUCTOR_TOKENS: TEACHER, UNROLL_API_TOKENS: 'api' } });
    try {
      const a = await locked.inject({
        method: 'POST',
        url: '/v1/assignments',
        headers: teacher,
        payload: { preset: 'sheet-ex3' },
      });
      expect(a.statusCode).toBe(201);
      const id = a.json().id;
      const p = (
        await locked.inject({ method: 'GET', url: `/v1/assignments/${id}/problems/jo`, headers: teacher })
      ).json();
      const s = await locked.inject({
        method: 'POST',
        url: `/v1/assignments/${id}/submissions`,
        headers: { authorization: `Bearer ${p.token}` },
        payload: { student: 'jo', answers: {} },
      });
      expect(s.statusCode).toBe(200);
      const body = { model: { config: { inputSize: 1, hiddenSize: 1, outputSize: 2 }, init: { seed: 1 } }, x: [[[1]]] };
      expect((await locked.inject({ method: 'POST', url: '/v1/trace', payload: body })).statusCode).toBe(401);
      const ok = await locked.inject({
        method: 'POST',
        url: '/v1/trace',
        headers: { authorization: 'Bearer api' },
        payload: body,
      });
      expect(ok.statusCode).toBe(200);
      expect((await locked.inject({ method: 'GET', url: '/openapi.json' })).json().paths).toHaveProperty(
        '/v1/assignments/{id}/submissions',
      );
    } finally {
      await locked.close();
    }
  });
});

describe('hostile submissions', () => {
  it('400 naming the answer for lists nested deeper than any quantity (not a stack overflow)', async () => {
    const p = await problemOf(ex2, 'ivy');
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const r = await app.inject({
      method: 'POST',
      url: `/v1/assignments/${ex2}/submissions`,
      headers: { authorization: `Bearer ${p.token}`, 'content-type': 'application/json' },
      payload: `{"student":"ivy","answers":{"y":${deep}}}`,
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().issues[0].path).toEqual(['answers', 'y']);
  });

  it('a long answer of the wrong shape is malformed, not an error', async () => {
    const p = await problemOf(ex2, 'ivy');
    const r = await submit(ex2, p.token, {
      student: 'ivy',
      answers: { hT: Array.from({ length: 100_000 }, () => [0.5]) },
    });
    expect(r.statusCode).toBe(200);
    expect(r.json().questions[2].status).toBe('malformed');
  });
});
