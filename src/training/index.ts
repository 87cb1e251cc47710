// Builds the RunManager from the config: its repo, its run pool (unless UNROLL_ROLE=api), access to stored
// models, and the three seams several processes share, in-process or on Redis (UNROLL_REDIS_URL).
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';
import type { ModelService } from '../compute/models.js';
import type { Config } from '../config.js';
import { ModelsRepo } from '../db/models.repo.js';
import type { Db } from '../db/open.js';
import { RunsRepo } from '../db/runs.repo.js';
import { createRunPool } from '../workers/run-pool.js';
import { LocalRunCancels, type RunCancels } from './cancels.js';
import { RedisRunCancels, RedisRunEvents } from './events-redis.js';
import { type RunEvents, RunHub } from './hub.js';
import { RunManager } from './manager.js';
import { LocalRunQueue, type RunQueue } from './queue.js';
import { BullRunQueue } from './queue-bullmq.js';

/** A cancelled run that has not stopped after this long loses its thread. */
export const CANCEL_GRACE_MS = 5000;
/** How long a start waits for Redis before it gives up, naming the setting. */
const REDIS_CONNECT_MS = 5000;

interface Seams {
  queue: RunQueue;
  events: RunEvents;
  cancels: RunCancels;
  /** Resolves true while the shared servers answer (/ready). */
  ready: () => Promise<boolean>;
}

/** Connects and pings, or throws one line that names UNROLL_REDIS_URL. */
export async function connectRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: REDIS_CONNECT_MS });
  redis.on('error', () => {}); // it reconnects on its own; /ready says when it is down
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    throw new Error(`UNROLL_REDIS_URL: cannot reach ${url}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return redis;
}

async function seams(config: Config): Promise<Seams> {
  const url = config.UNROLL_REDIS_URL;
  if (!url) {
    return {
      queue: new LocalRunQueue(config.UNROLL_RUNS_CONCURRENCY),
      events: new RunHub(),
      cancels: new LocalRunCancels(),
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
    ready: async () => (await pub.ping().catch(() => '')) === 'PONG',
  };
}

export async function createRunManager(
  config: Config,
  db: Db,
  models: ModelService,
  log?: FastifyBaseLogger,
  registry?: Registry,
): Promise<{ manager: RunManager; ready: () => Promise<boolean> }> {
  const modelsRepo = new ModelsRepo(db);
  const s = await seams(config);
  const trains = config.UNROLL_ROLE !== 'api';
  const manager = new RunManager(
    new RunsRepo(db),
    {
      get: (id) => models.get(id),
      store: async (c, params, source) => (await modelsRepo.create({ config: c, params, source })).id,
    },
    trains ? createRunPool(config.UNROLL_RUNS_CONCURRENCY, config.UNROLL_KERNELS) : null,
    s.queue,
    s.events,
    s.cancels,
    {
      concurrency: config.UNROLL_RUNS_CONCURRENCY,
      maxQueued: config.UNROLL_RUNS_MAX_QUEUED,
      cancelGraceMs: CANCEL_GRACE_MS,
      checkpointEvery: config.UNROLL_RUN_CHECKPOINT_EVERY,
      maxAttempts: config.UNROLL_RUN_MAX_ATTEMPTS,
      // BullMQ hands on a dead worker's run, still `running`; one process claims only queued runs
      claimFrom: config.UNROLL_REDIS_URL ? ['queued', 'running'] : ['queued'],
      limits: {
        maxSteps: config.UNROLL_RUN_MAX_STEPS,
        maxCost: config.UNROLL_MAX_COMPUTE_COST,
        maxParams: config.UNROLL_MAX_PARAMS,
        maxOutputElements: config.UNROLL_MAX_OUTPUT_ELEMENTS,
        hiddenEvery: config.UNROLL_RUN_HIDDEN_EVERY,
      },
    },
    log,
  );
  if (registry) {
    new Gauge({
      name: 'unroll_runs',
      help: 'Training runs waiting for a worker (in Redis: for any) and running in this process',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        this.set({ status: 'queued' }, Math.max(0, await manager.waiting().catch(() => 0)));
        this.set({ status: 'running' }, manager.running());
      },
    });
  }
  // in one process, a run left running died with the last one; with Redis, BullMQ's stalled check sees to it
  if (!config.UNROLL_REDIS_URL) for (const id of await manager.recover()) await s.queue.add(id);
  manager.start();
  return { manager, ready: s.ready };
}
