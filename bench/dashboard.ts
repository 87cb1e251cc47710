// `npm run bench:dashboard`: the dashboard in Chromium. First, against the real server on SQLite: a finished
// 10^6-step run (d = 1, H = 16, T = 20, seeded through the repository) opened from its server-side history
// (the time to the charts drawn, and the history request alone), and the scrubber dragged over a run with
// H = T = 32, one snapshot a frame (probes.scrubDrag): the panel's redraw, and every frame of the drag, as
// frame intervals (rAF timestamps, 16.7 ms at 60 Hz; a dropped frame is 33) and as the work of each frame
// (from its start to its rendering done); once over snapshots not fetched yet, once from memory. Then, against the fake runs API as before: a run with STEPS recorded
// steps replayed frame by frame into the page (next to the bare socket receiving the same frames, for scale),
// then followed live (LIVE); reported: replay time, redraws, script time, JS heap, one redraw's cost.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import helmet from '@fastify/helmet';
import Fastify from 'fastify';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/open.js';
import { buildApp } from '../src/http/app.js';
import { dashboardRoutes } from '../src/http/routes/dashboard.js';
import { launch } from '../test/helpers/browser.js';
import { registerFakeRuns } from '../test/helpers/fake-runs.js';
import {
  bareSocketMs,
  goHash,
  openedFromHistory,
  reachedStep,
  runState,
  scrubDrag,
  selectRun,
} from '../test/helpers/probes.js';
import { seedRun } from '../test/helpers/seed-run.js';

const N = Number(process.env.STEPS ?? 100_000);
const T = Number(process.env.T ?? 32);
const H = 32;
/** The live phase: this many steps every tickMs, for ms. */
const LIVE = { steps: 20, tickMs: 20, ms: 5000 };

const load = () => `load ${loadavg()[0].toFixed(1)} on ${cpus().length} cores`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
/** The q-quantile (nearest rank) of xs. */
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];
const spread = (xs: number[]) =>
  `median ${median(xs).toFixed(1)}, p99 ${quantile(xs, 0.99).toFixed(1)}, max ${Math.max(...xs).toFixed(1)} ms`;
/** A frame interval longer than this missed a 60 Hz frame. */
const FRAME_MS = 1000 / 60 + 1;
const DRAG = 200;
const BIG = Number(process.env.BIG ?? 1_000_000);
const OPENS = 5;
/** The scrubbed run's snapshot interval. */
const HIDDEN_EVERY = 10;

{
  const dataDir = mkdtempSync(join(tmpdir(), 'unroll-bench-dashboard-'));
  const config = loadConfig({ UNROLL_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const db = await openDatabase({ dataDir });
  const server = await buildApp(config, { db, pool: null, logger: false });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`;
  let t = Date.now();
  const big = await seedRun(db, { steps: BIG, T: 20, H: 16, hiddenEvery: 1000, batch: 5000 });
  console.log(
    `# history: seeded a finished ${BIG}-step run (d = 1, H = 16, T = 20) in ${((Date.now() - t) / 1000).toFixed(0)} s`,
  );
  const scrub = await seedRun(db, { steps: 20_000, T: 32, H: 32, hiddenEvery: HIDDEN_EVERY, batch: 1000 });
  const requestMs: number[] = [];
  for (let i = 0; i < OPENS; i++) {
    t = performance.now();
    await (await fetch(`${url}/v1/runs/${big}/history?points=1000&kinds=step,profile`)).json();
    requestMs.push(performance.now() - t);
  }
  const b = await launch();
  const openMs: number[] = [];
  for (let i = 0; i < OPENS; i++) {
    await b.page.goto(`${url}/`);
    await b.page.waitForSelector('.run-item');
    t = Date.now();
    await b.page.evaluate(goHash, `run=${big}`);
    await b.page.waitForFunction(openedFromHistory, null, { timeout: 120_000, polling: 20 });
    openMs.push(Date.now() - t);
  }
  await b.page.goto(`${url}/#run=${scrub}`);
  await b.page.waitForFunction(openedFromHistory, null, { timeout: 120_000 });
  // the first drag fetches its pages of snapshots as it goes (ahead of the slider); the second draws from memory
  const drags = [];
  for (const pass of ['first drag', 'again']) {
    const loadNow = load();
    drags.push({
      pass,
      loadNow,
      ...(await b.page.evaluate(scrubDrag, [0, DRAG, HIDDEN_EVERY] as [number, number, number])),
    });
  }
  await b.close();
  await server.close();
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
  console.log(
    `GET /history (1000 buckets + profiles) of the ${BIG}-step run: median ${median(requestMs).toFixed(0)} ms of ${OPENS} (${load()})`,
  );
  console.log(
    `open the finished ${BIG}-step run in the page, charts drawn: median ${median(openMs)} ms, max ${Math.max(...openMs)} ms of ${OPENS} (${load()})`,
  );
  const warm = drags[drags.length - 1];
  console.log(
    `scrub H = T = 32, ${DRAG} snapshots one a frame: redraw median ${median(warm.draw).toFixed(1)} ms, max ${Math.max(...warm.draw).toFixed(1)} ms; longest frame ${Math.max(...warm.interval).toFixed(1)} ms (${warm.loadNow})`,
  );
  for (const d of drags) {
    const dropped = d.interval.filter((ms) => ms > FRAME_MS).length;
    console.log(
      `  ${d.pass}: frame intervals ${spread(d.interval)}, ${dropped} of ${d.interval.length} over ${FRAME_MS.toFixed(1)} ms; work per frame ${spread(d.work)}; redraws ${d.draw.length}, ${d.late} frames before their snapshot came, ${d.fetches} fetches, long tasks [${d.longTasks.map((t) => t.toFixed(0)).join(', ')}] (${d.loadNow})`,
    );
  }
}

const app = Fastify();
await app.register(helmet, { global: true });
const fake = await registerFakeRuns(app, { T, H });
await app.register(dashboardRoutes);
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
const run = fake.create({ steps: N + 1_000_000, recorded: N, T, H, hiddenEvery: 10 });
const bytes = run.log.reduce((a, f) => a + f.text.length, 0);

const browser = await launch();
const { page, context } = browser;
await page.goto(`${base}/`);
const bare = await page.evaluate(bareSocketMs, [run.id, run.log.length] as [string, number]);

const cdp = await context.newCDPSession(page);
await cdp.send('Performance.enable');
const metric = async (name: string) =>
  ((await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] }).metrics.find(
    (m) => m.name === name,
  )?.value ?? 0;
const script0 = await metric('ScriptDuration');
const t0 = Date.now();
await page.evaluate(selectRun, run.id);
await page.waitForFunction(reachedStep, N - 1, { timeout: 600_000, polling: 100 });
const replayMs = Date.now() - t0;
const script = (await metric('ScriptDuration')) - script0;
const after = await page.evaluate(runState);

const timer = setInterval(() => fake.advance(run, LIVE.steps), LIVE.tickMs);
const drawMs: number[] = [];
const end = Date.now() + LIVE.ms;
while (Date.now() < end) {
  drawMs.push((await page.evaluate(runState)).drawMs);
  await page.waitForTimeout(100);
}
clearInterval(timer);
const heap = await metric('JSHeapUsedSize');
const points = (await page.evaluate(runState)).lossPoints;
drawMs.sort((a, b) => a - b);

console.log(
  `# replay (today's way), ${N} recorded steps, T = ${T}, H = ${H}: ${(bytes / 1e6).toFixed(0)} MB of frames`,
);
console.log(`bare socket, receive + JSON.parse every frame: ${(bare / 1000).toFixed(1)} s`);
console.log(
  `dashboard replay to step ${N - 1}: ${(replayMs / 1000).toFixed(1)} s, ${after.draws} redraws, script ${script.toFixed(1)} s (${load()})`,
);
console.log(`chart points kept: ${points}; JS heap after: ${(heap / 1e6).toFixed(0)} MB`);
console.log(
  `live at ${(LIVE.steps * 1000) / LIVE.tickMs} steps/s: one redraw takes median ${drawMs[drawMs.length >> 1]} ms, max ${drawMs[drawMs.length - 1]} ms`,
);
await browser.close();
await app.close();
