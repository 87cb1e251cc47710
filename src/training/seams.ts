// The three seams several processes share, picked once from the config: the run queue (in memory, or
// BullMQ), the run event fan-out (the in-process hub, or Redis pub/sub) and cancels (a call, or Redis).
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Config } from '../config.js';
import { LocalRunCancels, type RunCancels } from './cancels.js';
import { RedisRunCancels, RedisRunEvents } from './events-redis.js';
import { type RunEvents, RunHub } from './hub.js';
import { LocalRunQueue, type RunQueue } from './queue.js';
import { BullRunQueue } from './queue-bullmq.js';

/** How long a start waits for Redis before it gives up, naming the setting. */
const REDIS_CONNECT_MS = 5000;

/** Connects and pings, or throws one line that names UNROLL_REDIS_URL. */
export async function connectRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: REDIS_CONNECT_MS });
  redis.on('error', () => {}); // it reconnects on its own; /ready says when it is down
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    const shown = url.replace(/\/\/[^@/]*@/, '//***@'); // no password in the log
    throw new Error(`UNROLL_REDIS_URL: cannot reach ${shown}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return redis;
}

/** The advisory lock (two int4 keys: "unro", 1) that the one process on a PostgreSQL database without Redis holds. */
const SOLE_PROCESS_LOCK = [0x756e726f, 1] as const;

/**
 * Without Redis, a process on PostgreSQL takes the database's runs as its own: at start it resumes (or fails)
 * every run left `running`, which with a second live process would be that process's runs, trained twice.
 * So it holds a session advisory lock for its life, and a second process without Redis is refused, naming
 * the setting that makes several processes work. Resolves with the release.
 */
export async function holdSoleProcess(databaseUrl: string): Promise<() => Promise<void>> {
  const c = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: REDIS_CONNECT_MS });
  c.on('error', () => {}); // the database going away releases the lock; the process goes on as it was
  await c.connect();
  const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [...SOLE_PROCESS_LOCK]);
  if (!r.rows[0]?.ok) {
    await c.end().catch(() => {});
    throw new Error(
      "UNROLL_REDIS_URL: another unroll process uses this PostgreSQL database without Redis; several processes on one database need UNROLL_REDIS_URL (without it each would take the others' running runs for dead ones)",
    );
  }
  return () => c.end().catch(() => {});
}

export interface RunSeams {
  queue: RunQueue;
  events: RunEvents;
  cancels: RunCancels;
  /** The shared ioredis client (null without UNROLL_REDIS_URL): sequences and rate limits use it too. */
  redis: Redis | null;
  /** Resolves true while the shared servers answer (/ready). */
  ready: () => Promise<boolean>;
}

/** The in-process seams, or (with UNROLL_REDIS_URL) BullMQ and Redis pub/sub; throws one line naming the setting when Redis does not answer. */
export async function createRunSeams(config: Config): Promise<RunSeams> {
  const url = config.UNROLL_REDIS_URL;
  if (!url) {
    const release = config.UNROLL_DATABASE_URL ? await holdSoleProcess(config.UNROLL_DATABASE_URL) : null;
    const local = new LocalRunQueue(config.UNROLL_RUNS_CONCURRENCY);
    return {
      queue: release
        ? {
            add: (id) => local.add(id),
            remove: (id) => local.remove(id),
            process: (handle) => local.process(handle),
            waiting: () => local.waiting(),
            close: async () => {
              await local.close();
              await release();
            },
          }
        : local,
      events: new RunHub(),
      cancels: new LocalRunCancels(),
      redis: null,
      ready: async () => true,
    };
  }
  const prefix = config.UNROLL_REDIS_PREFIX;
  const pub = await connectRedis(url);
  const sub = await connectRedis(url);
  const queue = new BullRunQueue({
    url,
    prefix: `${prefix}bull`,
    concurrency: config.UNROLL_RUNS_CONCURRENCY,
    maxAttempts: config.UNROLL_RUN_MAX_ATTEMPTS,
    stallMs: config.UNROLL_RUN_STALL_SECONDS * 1000,
  });
  const events = new RedisRunEvents(pub, sub, prefix);
  const cancels = new RedisRunCancels(pub, sub, prefix);
  return {
    queue: {
      add: (id) => queue.add(id),
      remove: (id) => queue.remove(id),
      process: (handle, dead) => queue.process(handle, dead),
      waiting: () => queue.waiting(),
      close: async () => {
        await queue.close();
        pub.disconnect();
        sub.disconnect();
      },
    },
    events,
    cancels,
    redis: pub,
    ready: async () => (await pub.ping().catch(() => '')) === 'PONG',
  };
}
