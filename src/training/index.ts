// Builds the RunManager from the config: its repo, its own run pool, and access to stored models.
import type { FastifyBaseLogger } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import type { ModelService } from '../compute/models.js';
import type { Config } from '../config.js';
import { ModelsRepo } from '../db/models.repo.js';
import type { Db } from '../db/open.js';
import { RunsRepo } from '../db/runs.repo.js';
import { createRunPool } from '../workers/run-pool.js';
import { RunManager } from './manager.js';

/** A cancelled run that has not stopped after this long loses its thread. */
export const CANCEL_GRACE_MS = 5000;

export async function createRunManager(
  config: Config,
  db: Db,
  models: ModelService,
  log?: FastifyBaseLogger,
  registry?: Registry,
): Promise<RunManager> {
  const modelsRepo = new ModelsRepo(db);
  const manager = new RunManager(
    new RunsRepo(db),
    {
      get: (id) => models.get(id),
      store: async (c, params, source) => (await modelsRepo.create({ config: c, params, source })).id,
    },
    createRunPool(config.UNROLL_RUNS_CONCURRENCY, config.UNROLL_KERNELS),
    {
      concurrency: config.UNROLL_RUNS_CONCURRENCY,
      maxQueued: config.UNROLL_RUNS_MAX_QUEUED,
      cancelGraceMs: CANCEL_GRACE_MS,
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
      help: 'Training runs queued and running in this process',
      labelNames: ['status'],
      registers: [registry],
      collect() {
        const { queued, running } = manager.counts();
        this.set({ status: 'queued' }, queued);
        this.set({ status: 'running' }, running);
      },
    });
  }
  await manager.recover();
  return manager;
}
