// createServices(config, deps): every service of the application, built once, from the configuration and
// the few things a process owns (the database, the compute pool, the kernels). Reading this and server.ts
// tells the whole application; the routes receive these services and nothing rawer. A PostgreSQL store or
// Redis-backed shared state plugs in here, where each service is given what it stores in.
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { InferenceService } from './compute/inference.js';
import { ModelService } from './compute/models.js';
import { Readiness } from './compute/readiness.js';
import { SendBudget } from './compute/send-budget.js';
import { RedisSequenceStore } from './compute/sequence-redis.js';
import type { SequenceStates } from './compute/sequence-states.js';
import { SequenceStore } from './compute/sequence-store.js';
import { SequenceService } from './compute/sequences.js';
import { type ComputePool, ComputeService } from './compute/service.js';
import type { Config } from './config.js';
import type { Kernels } from './core/kernels.js';
import { jsKernels } from './core/kernels-js.js';
import { GradingRepo } from './db/grading.repo.js';
import { GradingCourseRepo } from './db/grading-course.repo.js';
import { HistoryRepo } from './db/history.repo.js';
import { ModelsRepo } from './db/models.repo.js';
import type { Db } from './db/open.js';
import { RunsRepo } from './db/runs.repo.js';
import { CourseService } from './grading/course.js';
import { loadServerSecret } from './grading/secret.js';
import { GradingService } from './grading/service.js';
import { createMetrics, type Metrics, registerRunMetrics, registerSequenceMetrics } from './metrics.js';
import { HistoryService } from './training/history/service.js';
import { RunManager } from './training/manager.js';
import type { RunPool } from './training/protocol.js';
import { createRunSeams } from './training/seams.js';
import { createRunPool } from './workers/run-pool.js';

/** A cancelled run that has not stopped after this long loses its thread. */
export const CANCEL_GRACE_MS = 5000;

export interface ServiceDeps {
  db: Db;
  /** The compute pool; null runs everything inline (tests that do not exercise the pool). */
  pool: ComputePool | null;
  /** The kernel backend of the inline path (default: the portable kernels). */
  kernels?: Kernels;
  /** The run pool; by default a piscina pool of UNROLL_RUNS_CONCURRENCY threads that start on demand. */
  runPool?: RunPool;
  /** Where the run manager logs. */
  log?: FastifyBaseLogger;
  /** The version /v2 reports. */
  version: string;
  /** The clock grading's course rules read (due dates, release); tests pass a fake one. */
  now?: () => Date;
}

export interface Services {
  config: Config;
  metrics: Metrics;
  /** Bytes held for answers clients have not read yet, across every connection (UNROLL_SEND_BUDGET_BYTES). */
  sendBudget: SendBudget;
  /** Whether the process can serve: GET /ready and GET /v2/health/ready. */
  readiness: Readiness;
  compute: ComputeService;
  models: ModelService;
  /** Forward passes as chunks of stateful sequences (/v2 sequence_id; the stream's stateful mode). */
  sequences: SequenceService;
  /** The Open Inference Protocol v2 on stored models. */
  inference: InferenceService;
  grading: GradingService;
  /** Rules, rosters and regrades of grading's assignments. */
  course: CourseService;
  /** Training runs: the queue, the run pool, the event logs and their followers. */
  runs: RunManager;
  /** Name of the kernel backend the inline path uses. */
  kernelsName: string;
  /** The shared Redis client (UNROLL_REDIS_URL), or null: the submission rate limit counts there. */
  redis: Redis | null;
}

export async function createServices(config: Config, deps: ServiceDeps): Promise<Services> {
  const { db, pool } = deps;
  const kernels = deps.kernels ?? jsKernels;
  const metrics = createMetrics(() => ({ queued: pool?.queueSize ?? 0, running: pool?.running ?? 0 }));
  // the run queue, fan-out and cancels: in this process, or on Redis (UNROLL_REDIS_URL)
  const seams = await createRunSeams(config);
  const readiness = new Readiness({
    database: { name: db.name, ping: () => db.ping() },
    pool,
    kernels: kernels.name,
    shared: config.UNROLL_REDIS_URL ? { name: 'Redis (UNROLL_REDIS_URL)', ping: seams.ready } : undefined,
  });

  const sendBudget = new SendBudget(config.UNROLL_SEND_BUDGET_BYTES, config.UNROLL_SEND_TIMEOUT_MS);
  const compute = new ComputeService(
    {
      maxCost: config.UNROLL_MAX_COMPUTE_COST,
      maxOutputElements: config.UNROLL_MAX_OUTPUT_ELEMENTS,
      inlineCost: config.UNROLL_INLINE_COST,
      offloadBytes: config.UNROLL_OFFLOAD_BYTES,
    },
    pool,
    kernels,
    metrics.observeCompute,
    sendBudget,
  );
  const modelsRepo = new ModelsRepo(db);
  const models = new ModelService(modelsRepo, config.UNROLL_MAX_PARAMS);

  const sequenceLimits = {
    maxSequences: config.UNROLL_MAX_SEQUENCES,
    idleMs: config.UNROLL_SEQUENCE_IDLE_SECONDS * 1000,
    maxBytes: config.UNROLL_SEQUENCE_MAX_BYTES,
    maxPerOwner: config.UNROLL_MAX_SEQUENCES_PER_TOKEN,
  };
  // sequences live in this process, or in Redis so that any process can continue one (UNROLL_REDIS_URL)
  const store: SequenceStates = seams.redis
    ? new RedisSequenceStore(sequenceLimits, seams.redis, config.UNROLL_REDIS_PREFIX)
    : new SequenceStore(sequenceLimits);
  store.startSweeper();
  registerSequenceMetrics(metrics.registry, store);
  const sequences = new SequenceService(store, compute);
  const inference = new InferenceService({ models, sequences, readiness, version: deps.version });

  const courseRepo = new GradingCourseRepo(db);
  const grading = new GradingService(
    new GradingRepo(db),
    courseRepo,
    await loadServerSecret(db),
    {
      maxCost: config.UNROLL_GRADING_MAX_COST,
      maxParams: config.UNROLL_MAX_PARAMS,
      instructorTokens: config.UNROLL_INSTRUCTOR_TOKENS,
    },
    metrics.registry,
    deps.now,
  );
  const course = new CourseService(grading, courseRepo);

  const runs = new RunManager(
    new RunsRepo(db),
    {
      get: (id) => models.get(id),
      store: async (c, params, source) => (await modelsRepo.create({ config: c, params, source })).id,
    },
    // UNROLL_ROLE=api never trains: the workers on the queue do
    config.UNROLL_ROLE === 'api'
      ? null
      : (deps.runPool ?? createRunPool(config.UNROLL_RUNS_CONCURRENCY, config.UNROLL_KERNELS)),
    seams.queue,
    seams.events,
    seams.cancels,
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
        maxRunCost: config.UNROLL_RUN_MAX_COST,
        maxLogBytes: config.UNROLL_RUN_MAX_LOG_BYTES,
        maxParams: config.UNROLL_MAX_PARAMS,
        maxOutputElements: config.UNROLL_MAX_OUTPUT_ELEMENTS,
        hiddenEvery: config.UNROLL_RUN_HIDDEN_EVERY,
      },
    },
    new HistoryService(new HistoryRepo(db)),
    deps.log,
  );
  registerRunMetrics(metrics.registry, async () => ({
    queued: Math.max(0, await runs.waiting()),
    running: runs.running(),
  }));
  // in one process, runs the previous one left queued or running queue again (those it was training first,
  // to resume from their checkpoints) before anyone can ask for them; with Redis, BullMQ's stalled check does
  if (!config.UNROLL_REDIS_URL) for (const id of await runs.recover()) await seams.queue.add(id);
  runs.start();

  return {
    config,
    metrics,
    sendBudget,
    readiness,
    compute,
    models,
    sequences,
    inference,
    grading,
    course,
    runs,
    kernelsName: kernels.name,
    redis: seams.redis,
  };
}
