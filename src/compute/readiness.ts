// Readiness, written once: the database answers and the compute pool, if there is one, has threads. GET
// /ready and GET /v2/health/ready both ask it; a 503 (overloaded) names what is missing.
import { AppError } from '../errors.js';
import type { ComputePool } from './service.js';

export interface ReadinessDeps {
  /** The store's name (a file path or :memory:) and a probe that is false or throws when it does not answer. */
  database: { name: string; ping(): boolean | Promise<boolean> };
  /** null: everything computes inline on the event loop. */
  pool: ComputePool | null;
  kernels: string;
}

export interface ReadinessReport {
  database: string;
  /** null when the service computes inline (no pool to wait for). */
  pool: { threads: number; queued: number; running: number } | null;
  kernels: string;
}

export class Readiness {
  constructor(private readonly deps: ReadinessDeps) {}

  /** The report when ready; throws 503 when the database does not answer or the pool has no threads. */
  async check(): Promise<ReadinessReport> {
    let up = false;
    try {
      up = await this.deps.database.ping();
    } catch {
      // a closed, stopped or unreachable database is "not ready" (503), not a server error
    }
    if (!up) throw new AppError('overloaded', 'the database does not answer');
    const pool = this.deps.pool;
    if (pool && pool.threads < 1) throw new AppError('overloaded', 'the worker pool is not running');
    return {
      database: this.deps.database.name,
      pool: pool && { threads: pool.threads, queued: pool.queueSize, running: pool.running },
      kernels: this.deps.kernels,
    };
  }
}
