// The dashboard at phone width (390 × 844), in Debian's Chromium against the real server: the run's name is
// a field of the form, not hidden under "More"; the run list's progress for the run on show is the run
// panel's, sample after sample; and the unrolled diagram's labels are drawn at a readable size.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/open.js';
import { buildApp } from '../../src/http/app.js';
import { createComputePool } from '../../src/workers/pool.js';
import { type Browser, launch } from '../helpers/browser.js';
import { labelSizes, listedAs, lossPointsAtLeast, progressPair } from '../helpers/probes.js';

const SLOW = { timeout: 120_000, polling: 200 };
/** The smallest label size, in CSS pixels as drawn, that counts as readable. */
const READABLE_PX = { node: 12, weight: 11 };

describe('the dashboard at 390 px', () => {
  let app: FastifyInstance;
  let browser: Browser;
  let base: string;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'unroll-e2e-phone-'));
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
    browser = await launch({ width: 390, height: 844 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('names a run from the form, keeps list and panel in step, and draws readable labels', async () => {
    const { page } = browser;
    await page.goto(`${base}/`);
    await page.locator('select[name=task] option[value="copy-first"]').waitFor({ state: 'attached' });
    // the name field is in view with "More" closed
    expect(await page.locator('#run-form details').getAttribute('open')).toBeNull();
    expect(await page.locator('input[name=name]').isVisible()).toBe(true);
    await page.selectOption('select[name=task]', 'copy-first');
    await page.fill('input[name=length]', '24');
    await page.fill('input[name=steps]', '200000');
    await page.fill('input[name=name]', 'phone run');
    await page.click('#start');
    await page.waitForURL(/#run=/);
    const id = new URL(page.url()).hash.slice('#run='.length);
    await page.waitForFunction(lossPointsAtLeast, 200, SLOW);

    // while the run trains, every sample shows the list and the panel at the same step
    for (let i = 0; i < 6; i++) {
      const p = await page.evaluate(progressPair, id);
      expect(p.name).toBe('phone run');
      expect(p.list).toEqual(p.panel);
      await page.waitForTimeout(500);
    }

    const sizes = await page.evaluate(labelSizes);
    expect(sizes.node).toBeGreaterThanOrEqual(READABLE_PX.node);
    expect(sizes.weight).toBeGreaterThanOrEqual(READABLE_PX.weight);
    expect(sizes.svgRight).toBeLessThanOrEqual(sizes.viewport);
    // the window still ends on the last step, h_23
    expect(await page.locator('#net .unrolled .node.h').last().textContent()).toBe('h23');
    await page.screenshot({ path: 'test-results/dashboard-390.png', fullPage: true });

    await page.click('#run-cancel');
    await page.waitForFunction(listedAs, [id, 'cancelled'] as [string, string], SLOW);
    expect(browser.errors).toEqual([]);
  }, 300_000);
});
