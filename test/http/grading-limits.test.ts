// Rate-limited submissions (per student token), and assignments, submissions and tokens surviving a restart
// on a real SQLite file, with the server secret kept in a 0600 file beside it.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DB_FILE } from '../../src/db/open.js';
import { testApp } from '../helpers/app.js';

const env = { UNROLL_INSTRUCTOR_TOKENS: 'teach', UNROLL_SUBMISSION_RATE_MAX: '2' };
const teacher = { authorization: 'Bearer teach' };

describe('submission rate limit', () => {
  it('429 problem+json with Retry-After past UNROLL_SUBMISSION_RATE_MAX, per token and student', async () => {
    const app = await testApp({ env });
    try {
      const id = (
        await app.inject({ method: 'POST', url: '/v1/assignments', headers: teacher, payload: { preset: 'sheet-ex3' } })
      ).json().id;
      const token = async (s: string) =>
        (await app.inject({ method: 'GET', url: `/v1/assignments/${id}/problems/${s}`, headers: teacher })).json()
          .token;
      const send = async (s: string, t: string) =>
        app.inject({
          method: 'POST',
          url: `/v1/assignments/${id}/submissions`,
          headers: { authorization: `Bearer ${t}` },
          payload: { student: s, answers: {} },
        });
      const a = await token('a');
      expect((await send('a', a)).statusCode).toBe(200);
      expect((await send('a', a)).statusCode).toBe(200);
      const third = await send('a', a);
      expect(third.statusCode).toBe(429);
      expect(third.headers['content-type']).toContain('application/problem+json');
      expect(third.headers['retry-after']).toBeDefined();
      expect(third.json()).toMatchObject({ status: 429, type: '/problems/rate-limited' });
      expect(third.json().detail).toContain('UNROLL_SUBMISSION_RATE_MAX');
      expect((await send('b', await token('b'))).statusCode).toBe(200);
      // an instructor token (a platform kit grading a class) has a budget per student, not one for all
      for (const s of ['c', 'd', 'e']) expect((await send(s, 'teach')).statusCode).toBe(200);
      expect((await send('c', 'teach')).statusCode).toBe(200);
      expect((await send('c', 'teach')).statusCode).toBe(429);
    } finally {
      await app.close();
    }
  });
});

describe('persistence', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unroll-grading-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('assignments, submissions and student tokens survive a restart', async () => {
    const first = await testApp({ env, dataDir: dir });
    const id = (
      await first.inject({ method: 'POST', url: '/v1/assignments', headers: teacher, payload: { preset: 'sheet-ex2' } })
    ).json().id;
    const before = (
      await first.inject({ method: 'GET', url: `/v1/assignments/${id}/problems/zoe`, headers: teacher })
    ).json();
    const sub = await first.inject({
      method: 'POST',
      url: `/v1/assignments/${id}/submissions`,
      headers: { authorization: `Bearer ${before.token}` },
      payload: { student: 'zoe', answers: { 'out-shape': [5, 3] } },
    });
    expect(sub.statusCode).toBe(200);
    await first.close();
    // the grading secret lives in the database file, which only the server's user may read
    expect(statSync(join(dir, DB_FILE)).mode & 0o777).toBe(0o600);

    const second = await testApp({ env, dataDir: dir });
    try {
      const after = (
        await second.inject({ method: 'GET', url: `/v1/assignments/${id}/problems/zoe`, headers: teacher })
      ).json();
      expect(after).toEqual(before);
      const again = await second.inject({
        method: 'POST',
        url: `/v1/assignments/${id}/submissions`,
        headers: { authorization: `Bearer ${before.token}` },
        payload: { student: 'zoe', answers: {} },
      });
      expect(again.statusCode).toBe(200);
      const list = (
        await second.inject({ method: 'GET', url: `/v1/assignments/${id}/submissions`, headers: teacher })
      ).json();
      expect(list.submissions.map((s: { score: number }) => s.score)).toEqual([1, 0]);
      expect(list.submissions[0].id).toBe(sub.json().id);
    } finally {
      await second.close();
    }
  });
});
