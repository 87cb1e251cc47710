// One log line per request at info (src/http/request-log.ts): "request completed" carries the request, the
// status and the time; "incoming request" is a debug line. Errors still log as Fastify's own do.
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/open.js';
import { buildApp } from '../../src/http/app.js';

async function appLogging(level: string): Promise<{ app: FastifyInstance; lines: () => Record<string, unknown>[] }> {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk, _e, cb) {
      out.push(chunk.toString());
      cb();
    },
  });
  const app = await buildApp(loadConfig({}), {
    db: await openDatabase({ dataDir: ':memory:' }),
    pool: null,
    logger: { level, stream },
  });
  return {
    app,
    lines: () =>
      out
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('request logging', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => app?.close());

  it('writes one line per request at info, with the request, the status and the time', async () => {
    const l = await appLogging('info');
    app = l.app;
    const before = l.lines().length;
    const r = await app.inject({ method: 'GET', url: '/health?probe=1', headers: { 'x-request-id': 'req-42' } });
    expect(r.statusCode).toBe(200);
    const lines = l.lines().slice(before);
    expect(lines.map((x) => x.msg)).toEqual(['request completed']);
    const [line] = lines;
    expect(line.reqId).toBe('req-42');
    expect(line.level).toBe(30);
    expect(line.req).toMatchObject({ method: 'GET', url: '/health?probe=1' });
    expect(line.res).toMatchObject({ statusCode: 200 });
    expect(typeof line.responseTime).toBe('number');
  });

  it('keeps "incoming request" at debug, and logs a rejected request as before', async () => {
    const l = await appLogging('debug');
    app = l.app;
    const before = l.lines().length;
    const r = await app.inject({ method: 'POST', url: '/v1/forward', payload: { x: [[[1]]] } });
    expect(r.statusCode).toBe(400);
    const msgs = l
      .lines()
      .slice(before)
      .map((x) => x.msg);
    expect(msgs[0]).toBe('incoming request');
    expect(msgs).toContain('request rejected');
    expect(msgs[msgs.length - 1]).toBe('request completed');
  });
});
