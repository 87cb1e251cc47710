// Debian's Chromium driven by playwright-core for the dashboard's browser tests: a fresh profile per launch,
// no network beyond the server under test, and every page error or console error collected for the test
// to assert on (a CSP violation shows up there).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** A slow, shared 2-core machine: waits are on conditions, with room to spare. */
export const BROWSER_TIMEOUT_MS = 60_000;

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions and console errors, in order. */
  errors: string[];
  close(): Promise<void>;
}

export async function launch(viewport = { width: 1280, height: 800 }): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'unroll-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    timeout: BROWSER_TIMEOUT_MS,
  });
  context.setDefaultTimeout(BROWSER_TIMEOUT_MS);
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
