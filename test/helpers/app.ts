// Builds the app for a test: SQLite in memory (or a real file where persistence is the point), no logger,
// no worker pool unless asked for. Close it in an afterEach/afterAll hook. With UNROLL_TEST_DATABASE_URL
// set, an app without a data directory gets a fresh PostgreSQL database instead, dropped when it closes.
import type { FastifyInstance } from 'fastify';
import { type Config, loadConfig } from '../../src/config.js';
import { type Db, openDatabase } from '../../src/db/open.js';
import { buildApp } from '../../src/http/app.js';
import { createComputePool } from '../../src/workers/pool.js';
import { type FreshDatabase, freshDatabase } from './pg.js';

export interface TestAppOptions {
  env?: Record<string, string>;
  /** A data directory for a real SQLite file; :memory: by default. */
  dataDir?: string;
  /** A PostgreSQL database to use (the app leaves it in place when it closes). */
  databaseUrl?: string;
  /** Start a real worker pool (piscina) of this many threads. */
  poolThreads?: number;
  /** The clock grading's course rules read. */
  now?: () => Date;
}

/** The database a test app was built on, for tests that read it directly or break it (the routes never see it). */
const databases = new WeakMap<FastifyInstance, Db>();
export function databaseOf(app: FastifyInstance): Db {
  const db = databases.get(app);
  if (!db) throw new Error('not an app testApp built');
  return db;
}

/** Set to run the HTTP suite on PostgreSQL: the server on which each app gets a database of its own. */
export const TEST_ON_POSTGRES = Boolean(process.env.UNROLL_TEST_DATABASE_URL);

export async function testApp(opts: TestAppOptions = {}): Promise<FastifyInstance> {
  const config: Config = loadConfig({ LOG_LEVEL: 'silent', ...opts.env });
  let fresh: FreshDatabase | undefined;
  if (!opts.dataDir && !opts.databaseUrl && TEST_ON_POSTGRES) fresh = await freshDatabase('test');
  const db = await openDatabase({
    url: opts.databaseUrl ?? fresh?.url,
    dataDir: opts.dataDir ?? ':memory:',
    poolSize: config.UNROLL_DATABASE_POOL_SIZE,
    timeoutMs: config.UNROLL_DATABASE_TIMEOUT_MS,
  });
  const pool = opts.poolThreads
    ? createComputePool({ threads: opts.poolThreads, maxQueue: config.UNROLL_POOL_MAX_QUEUE })
    : null;
  const app = await buildApp(config, { db, pool, logger: false, now: opts.now });
  databases.set(app, db);
  app.addHook('onClose', async () => {
    await pool?.close();
    await db.close();
    await fresh?.drop();
  });
  return app;
}

export const sheetModel = { config: { inputSize: 7, hiddenSize: 10, outputSize: 3 }, init: { seed: 42 } };
