// loadConfig(env): the only reader of process.env. Every setting, its default, and what it bounds.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';

const int = (min: number) => z.coerce.number().int().min(min);
const list = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
  )
  .optional();

const url = (protocols: readonly string[], example: string) =>
  z
    .string()
    .refine(
      (s) => {
        try {
          return protocols.includes(new URL(s).protocol);
        } catch {
          return false;
        }
      },
      { message: `expected a URL such as ${example}` },
    )
    .optional();

export const ConfigSchema = z.object({
  /** Where to listen (the container sets 0.0.0.0). */
  HOST: z.string().default('127.0.0.1'),
  /** The port to listen on (0: any free one). */
  PORT: int(0).max(65535).default(3000),
  /** Holds unroll.sqlite (WAL mode) when UNROLL_DATABASE_URL is unset. */
  UNROLL_DATA_DIR: z.string().default('./data'),
  /** PostgreSQL for every durable record (postgres://user@host:port/db), shared by every process on it; unset: SQLite in UNROLL_DATA_DIR. */
  UNROLL_DATABASE_URL: url(['postgres:', 'postgresql:'], 'postgres://user@host:5432/unroll'),
  /** PostgreSQL connections one process keeps at most. */
  UNROLL_DATABASE_POOL_SIZE: int(1).default(10),
  /** PostgreSQL: a connection attempt or one statement longer than this fails, and the request is a 503. */
  UNROLL_DATABASE_TIMEOUT_MS: int(100).default(5000),
  /** Redis for what several processes share (run fan-out, jobs, sequences, rate limits); requires UNROLL_DATABASE_URL. */
  UNROLL_REDIS_URL: url(['redis:', 'rediss:'], 'redis://host:6379'),
  /** pino level; every log line carries the request id (x-request-id is honoured). */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Request bodies above this many bytes are a 413 before they are parsed. */
  UNROLL_MAX_BODY_BYTES: int(1024).default(8 * 1024 * 1024),
  /**
   * Largest cost a compute request may have, in multiply-adds: B·T·H·(d+H) of one forward pass (times the
   * passes gradcheck and the Jacobian make), plus a fixed cost per timestep, per value computed and per
   * number of the answer (src/compute/cost.ts), so a long thin sequence counts what it really costs. 413
   * above, before any work; requests above UNROLL_INLINE_COST by the same count run in the worker pool.
   */
  UNROLL_MAX_COMPUTE_COST: int(1).default(1_000_000_000),
  /** Largest number of elements a response tensor (a Jacobian, say) may hold; 413 above. */
  UNROLL_MAX_OUTPUT_ELEMENTS: int(1).default(4_000_000),
  /** Largest model (H·d + H² + H + C·H + C parameters), checked before weights are drawn or stored. */
  UNROLL_MAX_PARAMS: int(1).default(8_388_608),
  /** Kernel backend: auto (the fastest that loads and passes its self-check: blas, then wasm, then js), or one by name. */
  UNROLL_KERNELS: z.enum(['auto', 'blas', 'wasm', 'js']).default('auto'),
  /** Requests cheaper than this run on the event loop (a message to a worker costs more); others go to the pool. */
  UNROLL_INLINE_COST: int(0).default(2_000_000),
  /**
   * Worker threads for heavy requests (training runs have their own pool: UNROLL_RUNS_CONCURRENCY).
   * @default cores
   */
  UNROLL_POOL_SIZE: int(1).default(Math.max(1, availableParallelism())),
  /** Heavy requests waiting for a worker beyond this are answered 503 with Retry-After. */
  UNROLL_POOL_MAX_QUEUE: int(0).default(64),
  /**
   * Compute request bodies (/v1 compute routes, stored-model compute routes, /v2 infer JSON and binary,
   * /v1/stream frames) larger than this many bytes are parsed and validated in the worker pool, and answers
   * whose estimated JSON is larger are encoded there, so the event loop only copies bytes; smaller ones stay
   * on the event loop (faster for them). Infinity: never (every body and answer on the event loop).
   */
  UNROLL_OFFLOAD_BYTES: z
    .union([z.literal('Infinity').transform(() => Number.POSITIVE_INFINITY), int(0)])
    .default(128 * 1024),
  /**
   * Bearer tokens (comma-separated) every route needs unless it is declared public (/health, /ready, /metrics,
   * /problems, /docs, /openapi.json, the page, /v2/health/*; the grading routes check their own tokens);
   * ?access_token= works where headers cannot be set (it is redacted from every logged or echoed URL).
   * A /v2 sequence then belongs to the token that started it. Unset: open access.
   */
  UNROLL_API_TOKENS: list,
  /**
   * Allowed CORS origins (comma-separated, or * for any); unset means no CORS headers. The same list (with
   * the server's own origin, and clients that send no Origin) may open WebSockets; any other page's upgrade
   * is a 403.
   */
  UNROLL_CORS_ORIGINS: list,
  /** Live stateful sequences (/v2 sequence_id) this instance holds at once; a new one beyond is a 503. */
  UNROLL_MAX_SEQUENCES: int(1).default(1024),
  /**
   * Live sequences one API token may hold at once; one more is a 429 (503 on /v2) with Retry-After. With
   * UNROLL_API_TOKENS set, a sequence belongs to the token that started it: another token's sequence_id
   * is a different sequence. Without tokens there is no owner: any client can continue or end any
   * sequence whose id it knows, and only UNROLL_MAX_SEQUENCES bounds them.
   */
  UNROLL_MAX_SEQUENCES_PER_TOKEN: int(1).default(64),
  /** A sequence not fed for this many seconds is evicted; its sequence_id is then unknown (400). */
  UNROLL_SEQUENCE_IDLE_SECONDS: z.coerce.number().positive().default(60),
  /** Bytes of hidden state (B·H float64 per sequence) all live sequences may hold together; 503 above. */
  UNROLL_SEQUENCE_MAX_BYTES: int(1).default(256 * 1024 * 1024),
  /** Bearer tokens of instructors (comma-separated): they create assignments and read every report. Unset: none. */
  UNROLL_INSTRUCTOR_TOKENS: list,
  /** Submissions one student token may make per UNROLL_SUBMISSION_RATE_WINDOW_MS; 429 above. */
  UNROLL_SUBMISSION_RATE_MAX: int(1).default(20),
  /** The window of UNROLL_SUBMISSION_RATE_MAX, in milliseconds. */
  UNROLL_SUBMISSION_RATE_WINDOW_MS: int(1000).default(60_000),
  /** Largest B·T·H·(d+H) of an assignment (plus its Jacobians' recursion), so grading stays short on the event loop. */
  UNROLL_GRADING_MAX_COST: int(1).default(1_000_000),
  /**
   * Bytes the whole process may hold for answers clients have not read yet: HTTP bodies of 64 KiB or more
   * still waiting for their socket, and the results of /v1/stream operations waiting for theirs. A large
   * answer that would pass it is a 503 with Retry-After (before the work when its size is known up front);
   * a stream operation is an `error` frame with status 503. One answer alone always fits.
   */
  UNROLL_SEND_BUDGET_BYTES: int(1024 * 1024).default(128 * 1024 * 1024),
  /**
   * A connection that has unsent bytes and takes none of them for this many milliseconds is closed (an
   * HTTP answer, a /v1/stream socket; run followers are conflated instead), and what it held goes back to
   * UNROLL_SEND_BUDGET_BYTES.
   */
  UNROLL_SEND_TIMEOUT_MS: int(100).default(30_000),
  /** Largest WebSocket message a client may send; a larger one closes the socket with 1009 (message too big). */
  UNROLL_WS_MAX_PAYLOAD: int(1024).default(8 * 1024 * 1024),
  /** Bytes a socket may hold unsent for a slow client: above it, run `step`/`hidden` frames are conflated and stream ops wait. */
  UNROLL_WS_SEND_BUDGET: int(1024).default(1024 * 1024),
  /** Operations one /v1/stream socket may have in flight; one more is an `error` frame (429). */
  UNROLL_STREAM_MAX_OPS: int(1).default(8),
  /**
   * Training runs that train at once (threads of the run pool); the others wait as `queued`.
   * @default cores / 2 (at least 1)
   */
  UNROLL_RUNS_CONCURRENCY: int(1).default(Math.max(1, Math.floor(availableParallelism() / 2))),
  /** Queued runs beyond this are refused with 503. */
  UNROLL_RUNS_MAX_QUEUED: int(0).default(100),
  /** Largest `steps` a run may ask for (413 above). */
  UNROLL_RUN_MAX_STEPS: int(1).default(1_000_000),
  /**
   * Largest cost of a whole run, counted before it is queued: every step (forward and backward over a
   * batch, plus a fixed cost per timestep), every hidden snapshot and the held-out evaluation (1000
   * sequences of a task, or the inline data). 413 above, naming the parts.
   */
  UNROLL_RUN_MAX_COST: z.coerce.number().positive().default(1e13),
  /**
   * Bytes one run's event log may take (its step frames and hidden snapshots as stored JSON). A run whose
   * log could pass it is a 413 before it is queued (the detail suggests a larger hiddenEvery or fewer
   * steps); should a running log reach it anyway, the run stops, recorded `failed` with a reason naming
   * this setting, and keeps the log up to the cap. Deleting a run gives its log's space back.
   */
  UNROLL_RUN_MAX_LOG_BYTES: int(1024 * 1024).default(1024 * 1024 * 1024),
  /** A run's default interval, in steps, between hidden-state snapshots of its probe sequence. */
  UNROLL_RUN_HIDDEN_EVERY: int(1).default(10),
  /** Steps between a run's checkpoints (weights, optimizer and generator state): a run whose process dies resumes from the last. */
  UNROLL_RUN_CHECKPOINT_EVERY: int(1).default(100),
  /** A run whose process dies this many times while it trains is failed, with the reason, instead of resumed. */
  UNROLL_RUN_MAX_ATTEMPTS: int(1).default(3),
  /** The prefix of every Redis key and channel this deployment uses (several deployments can share a Redis). */
  UNROLL_REDIS_PREFIX: z.string().min(1).default('unroll:'),
  /** all: serves and trains; api: serves, never trains; worker: trains, and serves only /health, /ready, /metrics. */
  UNROLL_ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  /** With Redis: a worker that has not renewed its run's lock for this long is taken to be dead (BullMQ's stalled-job check). */
  UNROLL_RUN_STALL_SECONDS: z.coerce.number().positive().default(30),
  /** Serve the live dashboard at / (and its files under /js, /css, /vendor); "false" for an API-only server. */
  UNROLL_DASHBOARD: z.stringbool().default(true),
});

export type Config = Readonly<
  Omit<z.infer<typeof ConfigSchema>, 'UNROLL_API_TOKENS' | 'UNROLL_CORS_ORIGINS' | 'UNROLL_INSTRUCTOR_TOKENS'> & {
    UNROLL_API_TOKENS: readonly string[];
    UNROLL_CORS_ORIGINS: readonly string[];
    UNROLL_INSTRUCTOR_TOKENS: readonly string[];
    /** UNROLL_DATA_DIR made absolute. */
    dataDir: string;
  }
>;

/** Parses the environment once; an invalid setting stops the process with the variable's name. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<Config> = {},
): Config {
  const set = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => v !== undefined && v !== '' && k in ConfigSchema.shape),
  );
  const parsed = ConfigSchema.safeParse(set);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration: ${lines.join('; ')}`);
  }
  const c = parsed.data;
  if (c.UNROLL_REDIS_URL && !c.UNROLL_DATABASE_URL)
    throw new Error(
      'invalid configuration: UNROLL_REDIS_URL: requires UNROLL_DATABASE_URL (processes that share Redis must share one PostgreSQL too; each would otherwise keep its own SQLite file)',
    );
  if (c.UNROLL_ROLE !== 'all' && !c.UNROLL_REDIS_URL)
    throw new Error(
      `invalid configuration: UNROLL_ROLE=${c.UNROLL_ROLE} needs UNROLL_REDIS_URL (the run queue the api and worker processes share)`,
    );
  return Object.freeze({
    ...c,
    UNROLL_API_TOKENS: c.UNROLL_API_TOKENS ?? [],
    UNROLL_CORS_ORIGINS: c.UNROLL_CORS_ORIGINS ?? [],
    UNROLL_INSTRUCTOR_TOKENS: c.UNROLL_INSTRUCTOR_TOKENS ?? [],
    dataDir: resolve(c.UNROLL_DATA_DIR),
    ...overrides,
  });
}
