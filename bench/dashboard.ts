// `npm run bench:dashboard`: the dashboard in Chromium against the fake runs API. A run with STEPS recorded steps
// replays into the page (next to the bare socket receiving the same frames, for scale), then the run goes on
// live (LIVE); reported: replay time, redraws, script time, JS heap, and what one redraw costs with the full history.
import helmet from '@fastify/helmet';
import Fastify from 'fastify';
import { dashboardRoutes } from '../src/http/routes/dashboard.js';
import { launch } from '../test/helpers/browser.js';
import { registerFakeRuns } from '../test/helpers/fake-runs.js';
import { bareSocketMs, reachedStep, runState, selectRun } from '../test/helpers/probes.js';

const N = Number(process.env.STEPS ?? 100_000);
const T = Number(process.env.T ?? 32);
const H = 32;
/** The live phase: this many steps every tickMs, for ms. */
const LIVE = { steps: 20, tickMs: 20, ms: 5000 };

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

console.log(`# dashboard, ${N} recorded steps, T = ${T}, H = ${H}: ${(bytes / 1e6).toFixed(0)} MB of frames`);
console.log(`bare socket, receive + JSON.parse every frame: ${(bare / 1000).toFixed(1)} s`);
console.log(
  `dashboard replay to step ${N - 1}: ${(replayMs / 1000).toFixed(1)} s, ${after.draws} redraws, script ${script.toFixed(1)} s`,
);
console.log(`chart points kept: ${points}; JS heap after: ${(heap / 1e6).toFixed(0)} MB`);
console.log(
  `live at ${(LIVE.steps * 1000) / LIVE.tickMs} steps/s: one redraw takes median ${drawMs[drawMs.length >> 1]} ms, max ${drawMs[drawMs.length - 1]} ms`,
);
await browser.close();
await app.close();
