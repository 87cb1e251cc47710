// A redis-server of the test's own, on a free port, as a child process (for tests that stop Redis: never
// the shared one). Null when redis-server is not installed.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export interface OwnRedis {
  url: string;
  port: number;
  /** Stops it (SIGKILL), resolved once it is gone. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: no persistence). */
  start(): Promise<void>;
}

export const REDIS_SERVER = spawnSync('which', ['redis-server']).stdout?.toString().trim() || null;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export async function ownRedis(): Promise<OwnRedis | null> {
  if (!REDIS_SERVER) return null;
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const c = spawn(
        REDIS_SERVER,
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      child = c;
      let out = '';
      c.stdout!.on('data', (d: Buffer) => {
        out += d;
        if (/Ready to accept connections/.test(out)) resolve();
      });
      c.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
    });
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGKILL');
    await gone;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, stop, start };
}

/** Whether a Redis server answers PING at `url` within a second (the suites that need one skip, and say so, otherwise). */
export async function redisAnswers(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000 });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** Deletes every key under `prefix` (what a suite that shares a Redis server under its own prefix leaves). */
export async function dropRedisPrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await r.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  r.disconnect();
}
