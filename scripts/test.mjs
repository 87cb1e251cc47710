#!/usr/bin/env node
// `npm test`: builds the wasm kernels, then typecheck (tsc --noEmit, and the page's modules with
// tsconfig.web.json), lint (Biome), the layering (dependency-cruiser) and vitest. Every step runs even when
// one fails, and the last line sums them: "N passed, M failed" (the build, each tsc, Biome and
// dependency-cruiser count as one check each; vitest counts its tests). Exits non-zero when anything failed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', shell: false }).status === 0;
let passed = 0;
let failed = 0;
const count = (ok) => (ok ? passed++ : failed++);

console.log('== build: the WebAssembly kernels (npm run build:wasm)');
count(run('npm', ['run', 'build:wasm', '--silent']));
console.log('== typecheck: tsc --noEmit');
count(run('npx', ['tsc', '--noEmit']));
console.log('== typecheck the page: tsc -p tsconfig.web.json (public/js with the DOM)');
count(run('npx', ['tsc', '-p', 'tsconfig.web.json']));
console.log('== lint: biome check .');
count(run('npx', ['biome', 'check', '.']));
console.log('== layers: dependency-cruiser (npm run depcruise): no cycles, each layer imports only those below');
count(run('npm', ['run', 'depcruise', '--silent']));

console.log(`== vitest ${process.argv.slice(2).join(' ')}`);
const dir = mkdtempSync(join(tmpdir(), 'unroll-vitest-'));
const out = join(dir, 'results.json');
const ok = run('npx', [
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${out}`,
  ...process.argv.slice(2),
]);
try {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  passed += r.numPassedTests;
  // a test file that fails to load has no tests to fail: count it as one failure
  const brokenFiles = r.testResults.filter((s) => s.status === 'failed' && s.assertionResults.length === 0).length;
  failed += r.numFailedTests + brokenFiles;
  // pending/todo tests are not passes: report them so that nothing skipped is called passing
  const skipped = r.numPendingTests + r.numTodoTests;
  if (skipped) console.log(`note: ${skipped} tests were skipped and are not counted as passed`);
  if (!ok && r.numFailedTests + brokenFiles === 0) failed++;
} catch {
  failed++; // vitest did not get as far as writing results
}
rmSync(dir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
