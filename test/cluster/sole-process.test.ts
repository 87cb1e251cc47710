// Two processes on one PostgreSQL database without Redis: the second is refused at start, naming
// UNROLL_REDIS_URL (without Redis a process takes the runs left `running` for dead ones: another live
// process's runs would train twice), and the first serves on; once the first is gone, another may start.
// Skipped, and said so, without PostgreSQL.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FreshDatabase, freshDatabase, pgReachable } from '../helpers/pg.js';
import { type ServerProcess, startServer } from '../helpers/server.js';

const up = await pgReachable();
if (!up)
  console.warn('SOLE-PROCESS TEST SKIPPED: PostgreSQL does not answer. It did not run and is not counted as passed.');

const dataDir = mkdtempSync(join(tmpdir(), 'unroll-sole-'));
let db: FreshDatabase | null = null;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  if (up) db = await freshDatabase('cluster');
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

const env = () => ({ UNROLL_DATA_DIR: dataDir, UNROLL_DATABASE_URL: db!.url, UNROLL_REDIS_URL: '' });

describe.skipIf(!up)('several processes on one PostgreSQL without Redis', () => {
  it('refuses the second, naming UNROLL_REDIS_URL; the first serves on; after it, another starts', async () => {
    const first = await startServer(env());
    servers.push(first);
    const second = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    second.stdout!.on('data', (d) => (out += d));
    second.stderr!.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => second.once('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(out).toMatch(/UNROLL_REDIS_URL: another unroll process uses this PostgreSQL database without Redis/);
    expect(out).not.toMatch(/Server listening/);
    expect((await fetch(`${first.base}/ready`)).status).toBe(200);
    // a restart after the first is gone (the lock goes with its session)
    await first.stop();
    const next = await startServer(env());
    servers.push(next);
    expect((await fetch(`${next.base}/ready`)).status).toBe(200);
  }, 240_000);
});
