// End to end, in Debian's Chromium against the real runs API: start the server, open /, start a run from
// the form, watch the charts grow and the heatmaps draw, drop the event socket under the page and see it
// resume from the last step it saw, save a screenshot, and cancel the run from the page.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/open.js';
import { buildApp } from '../../src/http/app.js';
import { createComputePool } from '../../src/workers/pool.js';
import { type Browser, launch } from '../helpers/browser.js';
import {
  canvasColours,
  hiddenDrawn,
  listedAs,
  lossPointsAtLeast,
  resumedAfter,
  runState,
  socketEnded,
} from '../helpers/probes.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SCREENSHOT = join(ROOT, 'test-results', 'dashboard.png');
/** `npm run screenshot` sets this to refresh the README's copy (docs/dashboard.png). */
const README_COPY = process.env.UNROLL_SCREENSHOT;
/** The run: copy-first over T = 24 steps, long enough to still be running when the test cancels it. */
const RUN = { task: 'copy-first', length: '24', steps: '200000' };
/** Steps the page must take in after the socket is cut, to call it resumed. */
const RESUMED_BY = 50;
/** A slow, busy machine: conditions, not sleeps, with room to spare. */
const SLOW = { timeout: 120_000, polling: 200 };

describe('the dashboard, end to end', () => {
  let app: FastifyInstance;
  let browser: Browser;
  let base: string;
  let dataDir: string;
  const sockets: string[] = [];

  beforeAll(async () => {
    // the server as src/server.ts builds it, on a temp data dir and a free port, in this process so that
    // the test can reach its WebSocket server and cut the page's socket
    dataDir = mkdtempSync(join(tmpdir(), 'unroll-e2e-'));
    const config = loadConfig({ UNROLL_DATA_DIR: dataDir, LOG_LEVEL: 'silent', UNROLL_RUNS_CONCURRENCY: '1' });
    const db = await openDatabase({ dataDir: config.dataDir });
    const pool = createComputePool({ threads: 1, maxQueue: config.UNROLL_POOL_MAX_QUEUE });
    app = await buildApp(config, { db, pool, logger: false });
    app.addHook('onClose', async () => {
      await pool.close();
      await db.close();
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    browser = await launch({ width: 1280, height: 800 });
    browser.page.on('websocket', (ws) => sockets.push(ws.url()));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts a run from the form, follows it live, survives a dropped socket, and cancels it', async () => {
    const { page } = browser;
    await page.goto(`${base}/`);
    await page.locator(`select[name=task] option[value="${RUN.task}"]`).waitFor({ state: 'attached' });
    await page.selectOption('select[name=task]', RUN.task);
    await page.fill('input[name=length]', RUN.length);
    await page.fill('input[name=steps]', RUN.steps);
    await page.click('#start');

    // the new run is selected, and its charts fill in
    await page.waitForURL(/#run=/);
    const runId = new URL(page.url()).hash.slice('#run='.length);
    await page.waitForFunction(lossPointsAtLeast, 20, SLOW);
    const early = await page.evaluate(runState);
    expect(early.runId).toBe(runId);
    await page.waitForFunction(lossPointsAtLeast, early.lossPoints + 100, SLOW);
    const later = await page.evaluate(runState);
    expect(later.status).toBe('running');
    expect(later.socket).toBe('live');
    expect(later.lossPoints).toBeGreaterThan(early.lossPoints);
    expect(later.gradPoints).toBeGreaterThan(early.gradPoints);

    // both heatmaps are drawn: the hidden state's T × H cells, and many colours in each
    await page.waitForFunction(hiddenDrawn, null, SLOW);
    const drawn = await page.evaluate(runState);
    expect(drawn.dhCells).toBeGreaterThan(0);
    expect(drawn.hiddenCells % Number(RUN.length)).toBe(0);
    expect(await page.evaluate(canvasColours, 'heat-dh')).toBeGreaterThan(20);
    expect(await page.evaluate(canvasColours, 'heat-hidden')).toBeGreaterThan(20);
    // the drawing is of this run's T: h_0 … h_23
    expect(await page.locator('#net .unrolled .node.h').last().textContent()).toBe(`h${Number(RUN.length) - 1}`);

    // cut the socket the way a network failure does, with no close frame
    const before = await page.evaluate(runState);
    expect(before.connects).toBe(1);
    let cut = 0;
    for (const ws of app.websocketServer.clients) {
      ws.terminate();
      cut++;
    }
    expect(cut).toBe(1);
    await page.waitForFunction(resumedAfter, before.lastStep + RESUMED_BY, SLOW);
    // the second socket asked for the steps after the last one the page had seen
    expect(sockets).toHaveLength(2);
    expect(sockets[0]).not.toContain('since=');
    const since = Number(new URL(sockets[1]).searchParams.get('since'));
    expect(since).toBeGreaterThanOrEqual(before.lastStep);
    const resumed = await page.evaluate(runState);
    expect(resumed.lossPoints).toBeGreaterThan(before.lossPoints);
    expect(resumed.conn).toBe('live');
    // no step lost across the cut and none counted twice: every step up to the last is on the page, or
    // is one the server said it skipped for a slow reader
    expect(resumed.steps + resumed.skippedSteps).toBe(resumed.lastStep + 1);

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    if (README_COPY) copyFileSync(SCREENSHOT, join(ROOT, README_COPY));

    // cancel from the page: the run stops, the socket ends normally, the list agrees
    await page.click('#run-cancel');
    await page.waitForFunction(socketEnded, null, SLOW);
    expect((await page.evaluate(runState)).status).toBe('cancelled');
    await page.waitForFunction(listedAs, [runId, 'cancelled'] as [string, string], SLOW);
    const run = (await (await fetch(`${base}/v1/runs/${runId}`)).json()) as { status: string };
    expect(run.status).toBe('cancelled');
    expect(browser.errors).toEqual([]);
  }, 300_000);
});
