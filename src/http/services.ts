// What route plugins receive: the config and the services, built once in buildApp.

import type { ModelService } from '../compute/models.js';
import type { SequenceService } from '../compute/sequences.js';
import type { ComputePool, ComputeService } from '../compute/service.js';
import type { Config } from '../config.js';
import type { Db } from '../db/open.js';
import type { CourseService } from '../grading/course.js';
import type { GradingService } from '../grading/service.js';
import type { RunManager } from '../training/manager.js';
import type { Metrics } from './metrics.js';

export interface Services {
  config: Config;
  db: Db;
  pool: ComputePool | null;
  metrics: Metrics;
  compute: ComputeService;
  models: ModelService;
  /** Forward passes as chunks of stateful sequences (/v2 sequence_id; the stream's stateful mode). */
  sequences: SequenceService;
  grading: GradingService;
  /** Rules, rosters and regrades of grading's assignments. */
  course: CourseService;
  /** Training runs: the queue, the run pool, the event logs and their followers. */
  runs: RunManager;
  /** Name of the kernel backend the inline path uses. */
  kernelsName: string;
}
