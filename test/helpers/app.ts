// Builds the app for a test: SQLite in memory (or a real file where persistence is the point), no logger,
// no worker pool unless asked for. Close it in an afterEach/afterAll hook.
import type { FastifyInstance } from 'fastify';
import { type Config, loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/open.js';
import { buildApp } from '../../src/http/app.js';
import { createComputePool } from '../../src/workers/pool.js';

export interface TestAppOptions {
  env?: Record<string, string>;
  /** A data directory for a real SQLite file; :memory: by default. */
  dataDir?: string;
  /** Start a real worker pool (piscina) of this many threads. */
  poolThreads?: number;
  /** The clock grading's course rules read. */
  now?: () => Date;
}

export async function testApp(opts: TestAppOptions = {}): Promise<FastifyInstance> {
  const config: Config = loadConfig({ LOG_LEVEL: 'silent', ...opts.env });
  const db = openDatabase(opts.dataDir ?? ':memory:');
  const pool = opts.poolThreads
    ? createComputePool({ threads: opts.poolThreads, maxQueue: config.UNROLL_POOL_MAX_QUEUE })
    : null;
  const app = await buildApp(config, { db, pool, logger: false, now: opts.now });
  app.addHook('onClose', async () => {
    await pool?.close();
    db.close();
  });
  return app;
}

export const sheetModel = { config: { inputSize: 7, hiddenSize: 10, outputSize: 3 }, init: { seed: 42 } };
