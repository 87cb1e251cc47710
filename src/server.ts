// The process: loadConfig → openDatabase → worker pool → buildApp → listen, and a graceful shutdown
// that lets in-flight requests finish before the pool and the database close.
import closeWithGrace from 'close-with-grace';
import { loadConfig } from './config.js';
import { openDatabase } from './db/open.js';
import { buildApp } from './http/app.js';
import { shutdown } from './http/shutdown.js';
import { loadKernels } from './kernels.js';
import { createComputePool } from './workers/pool.js';

const config = loadConfig();
const db = openDatabase(config.dataDir);
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
    db.close();
  });
});

await app.listen({ host: config.HOST, port: config.PORT });
app.log.info(
  { dataDir: config.dataDir, pool: config.UNROLL_POOL_SIZE, kernels: app.services.kernelsName },
  'unroll is ready',
);
