// The live dashboard at /: the page's own files from public/ and uPlot from node_modules under /vendor/uplot/,
// served by @fastify/static so the page works offline. Nothing here computes; the page talks to /v1 like any client.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

/** public/ at the package root: two levels above src/http/routes/ and dist/http/routes/ alike. */
export const PUBLIC_DIR = join(import.meta.dirname, '..', '..', '..', 'public');
/** uPlot's dist/ folder, wherever npm put the package. */
export const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot'));
export const UPLOT_PREFIX = '/vendor/uplot/';
/** The page's files change with a release, not within one: revalidate with the ETag after this long. */
const MAX_AGE = '10m';

/**
 * The page's Content-Security-Policy: helmet's defaults (scripts, styles and sockets from this origin
 * only) without upgrade-insecure-requests, which would send every request of a page served over plain
 * HTTP on a LAN or in a container to an https:// URL nobody answers.
 */
export const PAGE_CSP = {
  useDefaults: true,
  directives: {
    'script-src': ["'self'"],
    'style-src': ["'self'"],
    'connect-src': ["'self'"],
    'img-src': ["'self'", 'data:'],
    'upgrade-insecure-requests': null,
  },
};

export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  // every route registered in this plugin (the static files) gets the page's CSP
  app.addHook('onRoute', (route) => {
    // @fastify/helmet reads a route's own options from config.helmet (its `helmet` shorthand lands there too)
    // and is public: the page asks for a token itself when the API needs one
    route.config = {
      ...route.config,
      auth: 'public',
      helmet: { contentSecurityPolicy: PAGE_CSP },
    } as typeof route.config;
  });
  const common = { wildcard: false, maxAge: MAX_AGE, schemaHide: true, logLevel: 'warn' as const };
  await app.register(fastifyStatic, { ...common, root: PUBLIC_DIR, prefix: '/', index: 'index.html' });
  await app.register(fastifyStatic, {
    ...common,
    root: UPLOT_DIR,
    prefix: UPLOT_PREFIX,
    decorateReply: false,
    allowedPath: (path) => /^\/uPlot\.(esm\.js|min\.css)$/.test(path),
  });
};
