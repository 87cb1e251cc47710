// Documentation that is tested: every shell and Python example of the README and docs/*.md runs as written,
// in order, against a freshly started server (the rules in test/helpers/doc-examples.ts). A Python example
// runs with Debian's /usr/bin/python3 when it can import torch and requests, and is reported skipped
// otherwise, never passed. The list of examples and what became of each is written to
// test-results/doc-examples.md.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/open.js';
import { buildApp } from '../../src/http/app.js';
import { createComputePool } from '../../src/workers/pool.js';
import { type DocExample, docFiles, extractExamples, shellScript, withServer } from '../helpers/doc-examples.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PYTHON = '/usr/bin/python3';
/** The instructor token the README's grading examples use (T=teacher). */
const INSTRUCTOR_TOKEN = 'teacher';
const EXAMPLE_TIMEOUT_MS = 180_000;

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd, env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

const pythonOk = await run(PYTHON, ['-c', 'import torch, requests'], ROOT).then(
  (r) => r.code === 0,
  () => false,
);
const examples: DocExample[] = docFiles(ROOT).flatMap((f) => extractExamples(ROOT, f));
const outcomes: { ex: DocExample; result: string }[] = [];
const title = (ex: DocExample) =>
  `${ex.file}:${ex.line} ${ex.lang}: ${ex.source
    .split('\n')
    .find((l) => l.trim() && !l.startsWith('#'))
    ?.trim()
    .slice(0, 70)}`;

/** A server as src/server.ts builds it, on a temp data dir and a free port. */
async function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), 'unroll-docs-'));
  const config = loadConfig({
    UNROLL_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    UNROLL_INSTRUCTOR_TOKENS: INSTRUCTOR_TOKEN,
    UNROLL_RUNS_CONCURRENCY: '1',
  });
  const db = await openDatabase({ dataDir: config.dataDir });
  const pool = createComputePool({ threads: 1, maxQueue: config.UNROLL_POOL_MAX_QUEUE });
  const app = await buildApp(config, { db, pool, logger: false });
  app.addHook('onClose', async () => {
    await pool.close();
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` };
}

/** The shell variables a document assigns (`B=…`, `ID=$(…)`), carried from one of its blocks to the next. */
const assigned = (source: string) => [...source.matchAll(/(?:^|[;&]\s*)([A-Za-z_]\w*)=/gm)].map((m) => m[1]);

afterAll(() => {
  mkdirSync(join(ROOT, 'test-results'), { recursive: true });
  const lines = outcomes.map(
    ({ ex, result }) =>
      `- ${result}: \`${ex.file}:${ex.line}\` (${ex.lang}) ${title(ex).split(': ').slice(1).join(': ')}`,
  );
  writeFileSync(join(ROOT, 'test-results', 'doc-examples.md'), `# Documentation examples\n\n${lines.join('\n')}\n`);
});

it('finds the examples', () => {
  expect(examples.filter((e) => e.lang === 'sh' && !e.notRun).length).toBeGreaterThan(3);
  expect(examples.some((e) => e.lang === 'python')).toBe(true);
});

// each document against a server of its own, started fresh, its blocks in order in one shell session
for (const file of [...new Set(examples.map((e) => e.file))]) {
  describe(`${file}, run as written`, () => {
    let app: FastifyInstance;
    let base: string;
    let scratch: string;
    const names = new Set<string>();

    beforeAll(async () => {
      ({ app, base } = await startServer());
      // the examples run in a directory of their own that shows the repository (each top-level entry a
      // symlink), so that the files they name are there and the files they write stay out of the clone
      scratch = mkdtempSync(join(tmpdir(), 'unroll-docs-session-'));
      for (const entry of readdirSync(ROOT)) if (entry !== '.git') symlinkSync(join(ROOT, entry), join(scratch, entry));
    }, 120_000);
    afterAll(async () => {
      await app?.close();
      rmSync(scratch, { recursive: true, force: true });
    });

    for (const ex of examples.filter((e) => e.file === file)) {
      if (ex.notRun) {
        it.skip(`${title(ex)} (not run: ${ex.notRun})`, () => {});
        outcomes.push({ ex, result: `not run (${ex.notRun})` });
        continue;
      }
      if (ex.lang === 'python' && !pythonOk) {
        it.skip(`${title(ex)} (skipped: ${PYTHON} cannot import torch and requests)`, () => {});
        outcomes.push({ ex, result: 'skipped (no torch)' });
        continue;
      }
      it(
        title(ex),
        async () => {
          let r: { code: number; out: string };
          if (ex.lang === 'sh') {
            const state = join(scratch, '.session.sh');
            for (const n of assigned(ex.source)) names.add(n);
            const keep = [...names].map((n) => `declare -p ${n} 2>/dev/null || true`).join('\n');
            const script = `[ -f '${state}' ] && . '${state}'\n${shellScript(ex.source, base)}\n{ ${keep || ':'}; } > '${state}'\n`;
            r = await run('bash', ['-euo', 'pipefail', '-c', script], scratch);
          } else {
            const f = join(scratch, `.example-${ex.line}.py`);
            writeFileSync(f, withServer(ex.source, base));
            r = await run(PYTHON, [f], scratch);
          }
          outcomes.push({ ex, result: r.code === 0 ? 'passed' : 'FAILED' });
          expect(r.code, `${ex.file}:${ex.line} exited ${r.code}:\n${r.out.slice(-3000)}`).toBe(0);
        },
        EXAMPLE_TIMEOUT_MS,
      );
    }
  });
}
