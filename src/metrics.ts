// Prometheus metrics (prom-client), one registry per app: request latency per route, compute time, pool
// queue depth, runs and stateful sequences, and Node's own (event-loop lag among them). Every name of ours
// starts with unroll_, and `promtool check metrics` finds nothing to say (scripts/lint-specs.sh).
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Gauge, Histogram, type Metric, Registry } from 'prom-client';
import type { SequenceStates } from './compute/sequence-states.js';

/**
 * prom-client's defaults include three gauges named like counters (`nodejs_active_handles_total` …, the
 * sum over the types of `nodejs_active_handles`), which promtool rejects: a gauge must not end in _total
 * (nor in _count, a histogram's suffix). They are served as `nodejs_active_handles_all` and so on.
 */
export const RENAMED_DEFAULTS: Record<string, string> = {
  nodejs_active_handles_total: 'nodejs_active_handles_all',
  nodejs_active_requests_total: 'nodejs_active_requests_all',
  nodejs_active_resources_total: 'nodejs_active_resources_all',
};

function renameDefaultGauges(registry: Registry): void {
  for (const [from, to] of Object.entries(RENAMED_DEFAULTS)) {
    const original = registry.getSingleMetric(from) as (Metric & { help?: string }) | undefined;
    if (!original) continue;
    registry.removeSingleMetric(from);
    new Gauge({
      name: to,
      help: `${original.help ?? from} (prom-client's ${from}, renamed: a gauge must not end in _total)`,
      registers: [registry],
      async collect() {
        const { values } = await original.get();
        this.set(values[0]?.value ?? 0);
      },
    });
  }
}

export interface Metrics {
  registry: Registry;
  observeCompute(op: string, where: 'inline' | 'pool', seconds: number): void;
}

export function createMetrics(pool: () => { queued: number; running: number }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  renameDefaultGauges(registry);
  const compute = new Histogram({
    name: 'unroll_compute_seconds',
    help: 'Time to run one compute task, by op and where it ran (inline on the event loop, or in the pool)',
    labelNames: ['op', 'where'],
    buckets: [1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  new Gauge({
    name: 'unroll_pool_queue_depth',
    help: 'Compute tasks waiting for a worker',
    registers: [registry],
    collect() {
      this.set(pool().queued);
    },
  });
  new Gauge({
    name: 'unroll_pool_running',
    help: 'Compute tasks a worker is running now',
    registers: [registry],
    collect() {
      this.set(pool().running);
    },
  });
  return { registry, observeCompute: (op, where, s) => compute.observe({ op, where }, s) };
}

export function registerRequestMetrics(app: FastifyInstance, metrics: Metrics): void {
  const duration = new Histogram({
    name: 'unroll_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [metrics.registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    // the route pattern, not the URL, so ids do not explode the label set
    const route = request.routeOptions.url ?? 'unmatched';
    duration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}

export function registerRunMetrics(
  registry: Registry,
  counts: () => Promise<{ queued: number; running: number }>,
): void {
  new Gauge({
    name: 'unroll_runs',
    help: 'Training runs waiting for a worker (with Redis: for any) and running in this process',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const { queued, running } = await counts().catch(() => ({ queued: 0, running: 0 }));
      this.set({ status: 'queued' }, queued);
      this.set({ status: 'running' }, running);
    },
  });
}

/** How many stateful sequences this instance holds, and the bytes of their state. */
export function registerSequenceMetrics(registry: Registry, store: SequenceStates): void {
  new Gauge({
    name: 'unroll_sequences_live',
    help: 'Stateful sequences (sequence_id) live on this instance',
    registers: [registry],
    collect() {
      this.set(store.size);
    },
  });
  new Gauge({
    name: 'unroll_sequences_state_bytes',
    help: 'Bytes of hidden state the live sequences hold, against UNROLL_SEQUENCE_MAX_BYTES',
    registers: [registry],
    collect() {
      this.set(store.stateBytes);
    },
  });
}
