#!/usr/bin/env node
// Builds the optional OpenBLAS addon (native/) during `npm ci`. It never fails the install: without
// OpenBLAS (apt-get install libopenblas-dev) or a compiler, the service runs on the wasm or portable
// kernels, and says so at start-up.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const native = join(dirname(fileURLToPath(import.meta.url)), '..', 'native');
// npm puts its own node-gyp on PATH for install scripts; outside npm, fall back to npm's bundled copy
const bundled = join(
  dirname(process.execPath),
  '..',
  'lib',
  'node_modules',
  'npm',
  'node_modules',
  'node-gyp',
  'bin',
  'node-gyp.js',
);
// build against the running node's own headers when it has them (nothing to download)
const prefix = join(dirname(process.execPath), '..');
const nodedir =
  process.env.npm_config_nodedir ?? (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
const gypArgs = ['rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const [cmd, args] = existsSync(bundled) ? [process.execPath, [bundled, ...gypArgs]] : ['node-gyp', gypArgs];
const r = spawnSync(cmd, args, { cwd: native, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.status === 0) {
  console.log('unroll: built the OpenBLAS kernels (native/build/Release/unroll_blas.node)');
} else {
  const why = (r.stderr || r.stdout || String(r.error ?? ''))
    .split('\n')
    .filter((l) => /error|not found|No such/i.test(l))
    .slice(0, 3)
    .join(' | ');
  console.log(
    `unroll: the OpenBLAS kernels were not built (${why || 'node-gyp failed'}); the wasm or portable kernels will be used`,
  );
}
