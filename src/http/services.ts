// What route plugins receive: the config and the services, built once in buildApp.

import type { ModelService } from '../compute/models.js';
import type { ComputePool, ComputeService } from '../compute/service.js';
import type { Config } from '../config.js';
import type { Db } from '../db/open.js';
import type { RunManager } from '../training/manager.js';
import type { Metrics } from './metrics.js';

export interface Services {
  config: Config;
  db: Db;
  pool: ComputePool | null;
  metrics: Metrics;
  compute: ComputeService;
  models: ModelService;
  /** Training runs: the queue, the run pool, the event logs and their followers. */
  runs: RunManager;
  /** Name of the kernel backend the inline path uses. */
  kernelsName: string;
}
