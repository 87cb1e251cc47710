// The page in Chromium against the fake runs API (test/helpers/fake-runs.ts): a run with 100k recorded
// steps replays into bounded charts with few redraws, and the layout holds at 1280×800 and at phone width.
// The end-to-end test against the real runs API is test/e2e/dashboard.e2e.test.ts.
import helmet from '@fastify/helmet';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERIES_SIZE } from '../../public/js/rundata.js';
import { dashboardRoutes } from '../../src/http/routes/dashboard.js';
import { type Browser, launch } from '../helpers/browser.js';
import { type FakeRuns, registerFakeRuns } from '../helpers/fake-runs.js';
import { forgetToken, hiddenDrawn, layout, runState, socketEnded, storedToken } from '../helpers/probes.js';

const STEPS = 100_000;
const T = 16;
const H = 12;

describe('the dashboard in a browser (fake runs API)', () => {
  let app: FastifyInstance;
  let fake: FakeRuns;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    app = Fastify();
    await app.register(helmet, { global: true });
    fake = await registerFakeRuns(app, { T, H });
    await app.register(dashboardRoutes);
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    browser = await launch();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('replays 100k steps into bounded charts, redrawing far less often than frames arrive', async () => {
    const run = fake.create({ steps: STEPS, recorded: STEPS, T, H, hiddenEvery: 100 });
    const { page } = browser;
    const started = Date.now();
    await page.goto(`${base}/#run=${run.id}`);
    // the page writes what it shows in one draw: the socket's end and the last step arrive together
    await page.waitForFunction(socketEnded, null, { timeout: 120_000, polling: 250 });
    const seconds = (Date.now() - started) / 1000;
    const state = await page.evaluate(runState);
    console.log(`replayed ${STEPS} steps (T = ${T}) in ${seconds.toFixed(1)} s with ${state.draws} redraws`);
    expect(state.lastStep).toBe(STEPS - 1);
    expect(state.status).toBe('succeeded');
    expect(state.stepText).toBe('step 100k / 100k');
    const bound = SERIES_SIZE.recent + SERIES_SIZE.buckets + 1 + 256;
    expect(state.lossPoints).toBeGreaterThan(SERIES_SIZE.recent);
    expect(state.lossPoints).toBeLessThanOrEqual(bound);
    expect(state.gradPoints).toBe(state.lossPoints);
    expect(state.dhCells).toBeGreaterThan(0);
    expect(state.hiddenCells).toBe(T * H);
    // frames arrive by the thousand between two animation frames: draws are coalesced
    expect(state.draws).toBeLessThan(state.frames / 10);
    expect(browser.errors).toEqual([]);
  }, 180_000);

  it('lays out side by side at 1280×800 and stacks at phone width, without horizontal scrolling', async () => {
    const run = fake.create({ steps: 50, recorded: 50, T, H });
    const { page } = browser;
    const layoutAt = async (width: number, height: number) => {
      await page.setViewportSize({ width, height });
      await page.goto(`${base}/#run=${run.id}`);
      await page.waitForFunction(hiddenDrawn);
      return page.evaluate(layout);
    };
    const wide = await layoutAt(1280, 800);
    expect(wide.scrollWidth).toBeLessThanOrEqual(1280);
    expect(wide.runLeft).toBeGreaterThan(wide.formRight); // the run beside the form
    expect(wide.gradLeft).toBeGreaterThan(wide.lossLeft); // two charts a row
    const phone = await layoutAt(390, 844);
    expect(phone.scrollWidth).toBeLessThanOrEqual(390);
    expect(phone.gradLeft).toBe(phone.lossLeft); // one column
    expect(phone.gradTop).toBeGreaterThanOrEqual(phone.lossBottom);
    await page.screenshot({ path: 'test-results/dashboard-phone.png', fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
    expect(browser.errors).toEqual([]);
  }, 120_000);

  it('asks for the API token on a 401, keeps it, and sends it on requests and on the socket', async () => {
    const run = fake.create({ steps: 50, recorded: 50, T, H });
    fake.token = 'sesame';
    const { page } = browser;
    try {
      await page.goto(`${base}/#run=${run.id}`);
      await page.locator('#token-dialog').waitFor({ state: 'visible' });
      await page.fill('#token-dialog input[name=token]', 'sesame');
      await page.click('#token-dialog button[value=save]');
      await page.waitForFunction(hiddenDrawn);
      expect(await page.locator('.run-item').count()).toBeGreaterThan(0);
      expect(await page.evaluate(storedToken)).toBe('sesame');
    } finally {
      fake.token = null;
      await page.evaluate(forgetToken);
    }
    // the 401s before the token was given are the browser's console errors for failed requests
    browser.errors.length = 0;
  }, 120_000);
});
