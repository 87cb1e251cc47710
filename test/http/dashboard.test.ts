// Serving the dashboard: the page, every file it loads (its own modules and uPlot from node_modules), a CSP
// that allows exactly those, and nothing else from the folders it serves.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLIC_DIR } from '../../src/http/routes/dashboard.js';
import { testApp } from '../helpers/app.js';

const html = readFileSync(join(PUBLIC_DIR, 'index.html'), 'utf8');
const jsDir = join(PUBLIC_DIR, 'js');
/** Every absolute URL the page asks for: from index.html, and every import of every module. */
function pageUrls(): string[] {
  const urls = [...html.matchAll(/(?:src|href)="(\/[^"]*)"/g)].map((m) => m[1]);
  for (const f of readdirSync(jsDir)) {
    const src = readFileSync(join(jsDir, f), 'utf8');
    for (const m of src.matchAll(/^import .* from '([^']+)';$/gm)) {
      urls.push(m[1].startsWith('/') ? m[1] : new URL(m[1], `http://x/js/${f}`).pathname);
    }
  }
  return [...new Set(urls)];
}

describe('the dashboard', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(() => app.close());

  it('serves the page at / with a CSP of scripts, styles and sockets from this origin only', async () => {
    const res = await app.inject('/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('<script type="module" src="/js/main.js"></script>');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    // a page served over plain HTTP (a container on a LAN) must not send its requests to https://
    expect(csp).not.toContain('upgrade-insecure-requests');
    // no inline script for the CSP to block
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('serves every file the page and its modules load, with its type', async () => {
    const urls = pageUrls();
    expect(urls).toContain('/vendor/uplot/uPlot.esm.js');
    expect(urls).toContain('/js/runpanel.js');
    for (const url of urls.filter((u) => u !== '/docs')) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(200);
      const type = url.endsWith('.js') ? /^application\/javascript|^text\/javascript/ : /^text\/css/;
      expect(res.headers['content-type'], url).toMatch(type);
      expect(res.headers.etag, url).toBeDefined();
    }
  });

  it('serves only uPlot’s module and stylesheet from node_modules, and nothing outside public/', async () => {
    for (const url of [
      '/vendor/uplot/uPlot.cjs.js',
      '/vendor/uplot/../package.json',
      '/js/../../package.json',
      '/%2e%2e/package.json',
      '/js/nope.js',
    ]) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type'], url).toMatch(/^application\/problem\+json/);
    }
  });

  it('leaves the API as it was: its 404s are problems, its CSP helmet’s default', async () => {
    const res = await app.inject('/v1/nope');
    expect(res.statusCode).toBe(404);
    expect(res.json().type).toBe('/problems/not-found');
    const health = await app.inject('/health');
    expect(String(health.headers['content-security-policy'])).toContain('upgrade-insecure-requests');
  });
});

describe('UNROLL_DASHBOARD=false', () => {
  it('serves the API without the page', async () => {
    const app = await testApp({ env: { UNROLL_DASHBOARD: 'false' } });
    try {
      expect((await app.inject('/')).statusCode).toBe(404);
      expect((await app.inject('/js/main.js')).statusCode).toBe(404);
      expect((await app.inject('/health')).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
