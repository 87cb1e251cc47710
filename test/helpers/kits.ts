// Running the platform kits (integrations/) as Gradescope and PrairieLearn run them: their documented
// directory layout in a temp dir, Debian's python3 with python3-torch, against a live server on a port.
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';

export const PYTHON = '/usr/bin/python3';
/** The tests that run student code need Debian's python3 with torch (apt-get install python3-torch). */
export const HAS_TORCH = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

const INTEGRATIONS = join(import.meta.dirname, '../../integrations');
const FIXTURES = join(import.meta.dirname, '../fixtures/myrnn');
/** What make_autograder.sh puts in the Gradescope zip (unroll.env aside). */
export const GRADESCOPE_SOURCE = ['gradescope/setup.sh', 'gradescope/run_autograder', 'common/unroll_kit.py'];
/** What install.sh puts in a PrairieLearn course's serverFilesCourse/unroll/. */
export const PRAIRIELEARN_SERVER_FILES = ['prairielearn/serverFilesCourse/unroll/run', 'common/unroll_kit.py'];

/** The sheet's Exercise 2 with every quantity the kit computes through the student's autograd. */
export const KIT_QUESTIONS = [
  { id: 'out-shape', quantity: 'y.shape' },
  { id: 'y', quantity: 'y', points: 2 },
  { id: 'h', quantity: 'h' },
  { id: 'hT', quantity: 'hT' },
  { id: 'loss', quantity: 'loss' },
  { id: 'dU', quantity: 'grads.U.weight' },
  { id: 'dW', quantity: 'grads.W.weight' },
  { id: 'dh', quantity: 'dh' },
  { id: 'dx', quantity: 'dx' },
];
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

export interface KitRun {
  // biome-ignore lint/suspicious/noExplicitAny: a platform's results.json, read field by field in the tests
  results: Record<string, any>;
  stdout: string;
  stderr: string;
  code: number | null;
}

function run(cmd: string, env: Record<string, string>): Promise<Omit<KitRun, 'results'>> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [cmd],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', UNROLL_PYTHON: PYTHON, ...env }, timeout: 300_000 },
      (err, stdout, stderr) => resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? null) : 0 }),
    );
  });
}

function place(files: string[], dir: string) {
  mkdirSync(dir, { recursive: true });
  for (const f of files) {
    const to = join(dir, f.split('/').at(-1)!);
    copyFileSync(join(INTEGRATIONS, f), to);
    chmodSync(to, 0o755);
  }
}

/** /autograder as Gradescope lays it out: source/ (the zip), submission/, submission_metadata.json. */
export async function runGradescope(
  fixture: string,
  email: string,
  settings: Record<string, string>,
  opts: { envFile?: boolean; extraEnv?: Record<string, string> } = {},
): Promise<KitRun> {
  const root = mkdtempSync(join(tmpdir(), 'unroll-gradescope-'));
  place(GRADESCOPE_SOURCE, join(root, 'source'));
  mkdirSync(join(root, 'submission'));
  copyFileSync(join(FIXTURES, fixture), join(root, 'submission', 'myrnn.py'));
  writeFileSync(
    join(root, 'submission_metadata.json'),
    JSON.stringify({
      id: 123456,
      created_at: '2026-12-01T10:00:00Z',
      assignment: { title: 'Exercise 2' },
      users: [{ email, id: 1, name: 'A Student', sid: '42' }],
      previous_submissions: [],
    }),
  );
  const env: Record<string, string> = { AUTOGRADER_ROOT: root, ...opts.extraEnv };
  if (opts.envFile)
    writeFileSync(
      join(root, 'source', 'unroll.env'),
      Object.entries(settings)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
  else Object.assign(env, settings);
  const r = await run(join(root, 'source', 'run_autograder'), env);
  return { ...r, results: JSON.parse(readFileSync(join(root, 'results', 'results.json'), 'utf8')) };
}

/** /grade as PrairieLearn's external grader lays it out: data/data.json, student/, serverFilesCourse/. */
export async function runPrairieLearn(
  fixture: string,
  data: object,
  settings: Record<string, string>,
  extraEnv: Record<string, string> = {},
): Promise<KitRun> {
  const root = mkdtempSync(join(tmpdir(), 'unroll-prairielearn-'));
  place(PRAIRIELEARN_SERVER_FILES, join(root, 'serverFilesCourse', 'unroll'));
  mkdirSync(join(root, 'data'));
  mkdirSync(join(root, 'student'));
  mkdirSync(join(root, 'tests'));
  writeFileSync(join(root, 'data', 'data.json'), JSON.stringify(data));
  copyFileSync(join(FIXTURES, fixture), join(root, 'student', 'myrnn.py'));
  const r = await run(join(root, 'serverFilesCourse', 'unroll', 'run'), {
    UNROLL_PL_ROOT: root,
    ...settings,
    ...extraEnv,
  });
  return { ...r, results: JSON.parse(readFileSync(join(root, 'results', 'results.json'), 'utf8')) };
}
