#!/usr/bin/env node
// `npm run test:cluster`: the cluster suite (test/cluster, vitest.cluster.config.ts) with vitest's json
// reporter, and a last line in the form of scripts/test.mjs: "N passed, M failed" (", K skipped" when the
// suite could not run: PostgreSQL or Redis did not answer; skipped tests are never counted as passed).
// Exits non-zero when anything failed. .ci/run: `npm run test:cluster | tee log; tail -1 log`, adding N and M.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'unroll-cluster-vitest-'));
const out = join(dir, 'results.json');
const ok =
  spawnSync(
    'npx',
    [
      'vitest',
      'run',
      '--config',
      'vitest.cluster.config.ts',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${out}`,
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit' },
  ).status === 0;
let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  passed = r.numPassedTests;
  const brokenFiles = r.testResults.filter((s) => s.status === 'failed' && s.assertionResults.length === 0).length;
  failed = r.numFailedTests + brokenFiles;
  skipped = r.numPendingTests + r.numTodoTests;
  if (!ok && failed === 0) failed = 1;
} catch {
  failed = 1;
}
rmSync(dir, { recursive: true, force: true });
if (skipped)
  console.log(`note: ${skipped} cluster tests were skipped (see the reason above) and are not counted as passed`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
