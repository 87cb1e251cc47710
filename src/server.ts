// The process: loadConfig → openDatabase → kernels → worker pool → buildApp (whose services
// createServices in src/services.ts builds) → listen, and a graceful shutdown that lets in-flight
// requests finish before the pool and the database close. A bad setting, or a
// database that cannot be reached at start-up, is one log line naming the setting, then exit 1.
import closeWithGrace from 'close-with-grace';
import pino from 'pino';
import { type Config, loadConfig } from './config.js';
import { type Db, openDatabase } from './db/open.js';
import { buildApp } from './http/app.js';
import { shutdown } from './http/shutdown.js';
import { loadKernels } from './kernels.js';
import { createComputePool } from './workers/pool.js';

function fatal(msg: string): never {
  pino({ base: null }).fatal(msg);
  process.exit(1);
}

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  fatal((err as Error).message);
}
let db: Db;
try {
  db = await openDatabase({
    url: config.UNROLL_DATABASE_URL,
    dataDir: config.dataDir,
    poolSize: config.UNROLL_DATABASE_POOL_SIZE,
    timeoutMs: config.UNROLL_DATABASE_TIMEOUT_MS,
  });
} catch (err) {
  const setting = config.UNROLL_DATABASE_URL ? 'UNROLL_DATABASE_URL' : 'UNROLL_DATA_DIR';
  fatal(`${setting}: cannot open the database: ${(err as Error).message || String(err)}`);
}
const loaded = loadKernels(config.UNROLL_KERNELS);
const pool = createComputePool({
  threads: config.UNROLL_POOL_SIZE,
  maxQueue: config.UNROLL_POOL_MAX_QUEUE,
  kernels: config.UNROLL_KERNELS,
});
const app = await buildApp(config, { db, pool, kernels: loaded.kernels });
if (loaded.fallback) app.log.warn({ reason: loaded.fallback }, 'using the portable kernels');

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'shutting down after an error');
  else app.log.info({ signal }, 'shutting down');
  // sockets (1001), runs, in-flight requests, each with a grace; the pool and the database always last
  await shutdown(app, async () => {
    await pool.close();
    await db.close();
  });
});

await app.listen({ host: config.HOST, port: config.PORT });
app.log.info(
  { database: db.name, pool: config.UNROLL_POOL_SIZE, kernels: app.services.kernelsName },
  'unroll is ready',
);
