// Issue 12, item 7: ?access_token= never reaches a log line or an answer, however the URL is spelled.
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/open.js';
import { buildApp } from '../../src/http/app.js';
import { redactUrl } from '../../src/http/redact.js';

const SECRET = 's3cret-token-value';

describe('redactUrl', () => {
  it('replaces the value of access_token wherever it sits in the query, in any spelling', () => {
    expect(redactUrl(`/v1/models?access_token=${SECRET}`)).toBe('/v1/models?access_token=[redacted]');
    expect(redactUrl(`/v1/runs?limit=1&access_token=${SECRET}&offset=2`)).toBe(
      '/v1/runs?limit=1&access_token=[redacted]&offset=2',
    );
    expect(redactUrl(`/x?access%5Ftoken=${SECRET}`)).not.toContain(SECRET);
    expect(redactUrl(`/x?ACCESS_TOKEN=${SECRET}`)).not.toContain(SECRET);
    expect(redactUrl(`/x?%ZZ&access_token=${SECRET}`)).not.toContain(SECRET);
    expect(redactUrl('/v1/models?limit=3')).toBe('/v1/models?limit=3');
  });
});

describe('logs and problem bodies', () => {
  let app: FastifyInstance;
  const lines: string[] = [];
  beforeAll(async () => {
    const stream = new Writable({
      write(chunk, _e, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    app = await buildApp(loadConfig({ UNROLL_API_TOKENS: SECRET }), {
      db: await openDatabase({ dataDir: ':memory:' }),
      pool: null,
      logger: { level: 'trace', stream },
    });
  });
  afterAll(() => app.close());

  it('logs requests at info without the token', async () => {
    expect((await app.inject({ url: `/v1/models?access_token=${SECRET}` })).statusCode).toBe(200);
    expect(lines.join('')).toContain('access_token=[redacted]');
    expect(lines.join('')).not.toContain(SECRET);
  });

  it('echoes no token in a problem’s instance (a 401, a 404, a 400)', async () => {
    for (const url of [
      `/v1/models?access_token=wrong-${SECRET}`,
      `/v1/nothing-here?access_token=${SECRET}`,
      `/v1/models?limit=-1&access_token=${SECRET}`,
    ]) {
      const r = await app.inject({ url });
      expect(r.statusCode).toBeGreaterThanOrEqual(400);
      expect(r.body).not.toContain(SECRET);
      expect(r.json().instance).toContain('access_token=[redacted]');
    }
    expect(lines.join('')).not.toContain(SECRET);
  });
});
