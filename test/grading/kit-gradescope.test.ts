// The Gradescope kit run as Gradescope runs it: /autograder's layout in a temp dir (source/ as
// make_autograder.sh zips it, submission/myrnn.py, submission_metadata.json), Debian's python3 with
// python3-torch, against a live server. Skipped (never passed) when /usr/bin/python3 cannot import torch.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';
import { gradingClient, TEACHER } from '../helpers/grading-http.js';
import { GRADESCOPE_SOURCE, HAS_TORCH, KIT_QUESTIONS, type KitRun, listen, runGradescope } from '../helpers/kits.js';

const FULL = 10;
const FIXTURES = [
  'sheet.py',
  'sheet_typos_fixed.py',
  'relu.py',
  'corrected.py',
  'raises.py',
  'loops.py',
  'prints.py',
  'transposed.py',
  'snoops.py',
];
const KIT_ENV = { UNROLL_KIT_TIMEOUT: '10' };

let app: FastifyInstance;
const runs: Record<string, KitRun> = {};
let hidden: KitRun;
let refused: KitRun;

async function inBatches<T>(items: T[], n: number, f: (x: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += n) await Promise.all(items.slice(i, i + n).map(f));
}

const test = (r: KitRun, name: string) => r.results.tests.find((t: { name: string }) => t.name.startsWith(name));
const tags = (r: KitRun) => r.results.tests.flatMap((t: { tags?: string[] }) => t.tags ?? []);

describe.skipIf(!HAS_TORCH)('the Gradescope kit (run_autograder)', () => {
  beforeAll(async () => {
    app = await testApp({ env: { UNROLL_INSTRUCTOR_TOKENS: TEACHER } });
    const url = await listen(app);
    const client = gradingClient(app);
    const id = (await client.create({ preset: 'sheet-ex2', questions: KIT_QUESTIONS })).json().id;
    const settings = { UNROLL_URL: url, UNROLL_ASSIGNMENT: id, UNROLL_TOKEN: TEACHER };
    const later = (
      await client.create({
        preset: 'sheet-ex2',
        rules: { dueAt: '2099-01-01T00:00:00Z', release: 'after_due_date', attempts: 3 },
      })
    ).json().id;
    const closed = (await client.create({ preset: 'sheet-ex2', rules: { dueAt: '2020-01-01T00:00:00Z' } })).json().id;
    refused = await runGradescope(
      'corrected.py',
      'tardy@u.edu',
      { ...settings, UNROLL_ASSIGNMENT: closed },
      { extraEnv: KIT_ENV },
    );
    await inBatches(FIXTURES, 3, async (f) => {
      runs[f] = await runGradescope(f, `${f.replace('.py', '').replaceAll('_', '-')}@u.edu`, settings, {
        extraEnv: KIT_ENV,
      });
    });
    // settings from source/unroll.env instead of the environment, on an assignment with course rules
    hidden = await runGradescope(
      'corrected.py',
      'late@u.edu',
      { ...settings, UNROLL_ASSIGNMENT: later },
      { envFile: true, extraEnv: KIT_ENV },
    );
  }, 600_000);
  afterAll(() => app?.close());

  it('a corrected myRNN gets full marks: y, h, loss and gradients through its own autograd agree', () => {
    const r = runs['corrected.py'];
    expect(r.code).toBe(0);
    expect(r.results.score).toBe(FULL);
    expect(test(r, 'myRNN runs').status).toBe('passed');
    expect(r.results.tests.filter((t: { status: string }) => t.status === 'failed')).toEqual([]);
    expect(r.results.stdout_visibility).toBe('hidden');
  });

  it('the sheet’s myRNN as printed: the error in the student’s line, and its mistakes named from the code', () => {
    const r = runs['sheet.py'];
    expect(r.results.score).toBe(0);
    const first = test(r, 'myRNN runs');
    expect(first.status).toBe('failed');
    expect(first.output).toContain("AttributeError: 'myRNN' object has no attribute 'h_size'");
    expect(first.output).toContain('myrnn.py, line 14, in forward: h = torch.zeros(self.h_size)');
    expect(tags(r)).toEqual(
      expect.arrayContaining(['relu-instead-of-tanh', 'v-on-input', 'wrong-sequence-length', 'u-unused']),
    );
    expect(JSON.stringify(r.results)).not.toContain('unroll_kit.py');
    expect(JSON.stringify(r.results)).not.toContain('Traceback');
  });

  it('the sheet’s myRNN with its typos fixed: V on the input seen as it runs, the shape error explained', () => {
    const r = runs['sheet_typos_fixed.py'];
    const first = test(r, 'myRNN runs');
    expect(first.output).toContain('mat1 and mat2 shapes cannot be multiplied (5x7 and 10x3)');
    const found = test(r, 'What your code does');
    expect(found.output).toContain('v-on-input (seen when your code ran)');
    expect(tags(r)).toEqual(expect.arrayContaining(['relu-instead-of-tanh', 'wrong-sequence-length']));
    expect(tags(r)).not.toContain('no-recurrence'); // forward stopped before W: nothing to say about it
  });

  it('one bug at a time is named by unroll’s catalogue from the numbers: relu for tanh', () => {
    const r = runs['relu.py'];
    expect(test(r, 'y (y)').tags).toEqual(['relu-instead-of-tanh']);
    expect(test(r, 'y (y)').output).toContain('Exercise 1');
    expect(test(r, 'h (h)').output).toContain('first differs at t = 0, b = 0');
    expect(test(r, 'What your code does').output).toContain('forward calls relu 13 times and tanh never');
  });

  it('a myRNN that raises: its own message and line, every question "not computed"', () => {
    const r = runs['raises.py'];
    expect(test(r, 'myRNN runs').output).toContain(
      'ValueError: not written yet (myrnn.py, line 13, in forward: raise ValueError("not written yet"))',
    );
    expect(test(r, 'y (y)').output).toMatch(/^Not computed: Your code raised an error in forward/);
    expect(r.results.score).toBe(0);
  });

  it('a myRNN that loops forever is stopped after the timeout and told so', () => {
    const r = runs['loops.py'];
    expect(r.code).toBe(0);
    expect(test(r, 'myRNN runs').output).toContain('did not finish within 10 s, so it was stopped');
    expect(r.results.score).toBe(0);
  });

  it('a myRNN that prints megabytes is stopped at 1 MiB; an excerpt of its prints is shown', () => {
    const r = runs['prints.py'];
    expect(test(r, 'myRNN runs').output).toContain('printed more than 1 MiB');
    expect(test(r, 'myRNN runs').output).toContain('Your code printed:\ndebug debug');
    expect(JSON.stringify(r.results).length).toBeLessThan(100_000);
  });

  it('a y of the wrong shape: the transposed output shape named, the loss and gradients not computed and why', () => {
    const r = runs['transposed.py'];
    expect(test(r, 'out-shape').tags).toEqual(['transposed-output-shape']);
    expect(test(r, 'y (y)').output).toContain('has shape (3, 5), but y has shape (5, 3)');
    expect(test(r, 'loss').output).toContain('need y of shape (5, 3), and your y has shape (3, 5)');
    expect(test(r, 'h (h)').status).toBe('passed');
  });

  it('the student’s code sees neither the instructor token nor unroll.env (a clean environment, the user nobody)', () => {
    const r = runs['snoops.py'];
    expect(r.results.score).toBe(FULL);
    const printed = test(r, 'myRNN runs').output as string;
    expect(printed).toContain('env HOME');
    expect(JSON.stringify(r.results)).not.toContain(TEACHER);
    expect(printed).not.toContain('UNROLL_');
  });

  it('course rules reach Gradescope’s own fields: visibility after_due_date, attempt n of m in output and extra_data', () => {
    expect(hidden.results.visibility).toBe('after_due_date');
    expect(hidden.results.tests.every((t: { visibility: string }) => t.visibility === 'after_due_date')).toBe(true);
    expect(hidden.results.output).toContain('Attempt 1 of 3.');
    expect(hidden.results.output).toContain('hidden until the due date 2099-01-01T00:00:00.000Z');
    expect(hidden.results.extra_data.rules).toMatchObject({ attempt: 1, attempts: 3, release: 'after_due_date' });
    expect(hidden.results.score).toBe(5);
  });

  it('a submission the rules refuse (past the deadline): the reason, in a sentence', () => {
    expect(refused.results).toMatchObject({ score: 0, tests: [] });
    expect(refused.results.output).toBe(
      'unroll did not take this submission: the due date 2020-01-01T00:00:00.000Z has passed and this assignment takes no late submissions.',
    );
  });

  it('the gradebook holds each student’s submission under their Gradescope email', async () => {
    const list = await app.inject({
      method: 'GET',
      url: '/v1/assignments',
      headers: { authorization: `Bearer ${TEACHER}` },
    });
    const id = list.json().assignments.find((a: { questions: unknown[] }) => a.questions.length === 9).id;
    const csv = (
      await app.inject({
        method: 'GET',
        url: `/v1/assignments/${id}/submissions?format=csv`,
        headers: { authorization: `Bearer ${TEACHER}` },
      })
    ).body;
    expect(csv).toContain(',corrected@u.edu,');
    expect(csv).toContain(',sheet@u.edu,');
  });
});

describe.skipIf(!HAS_TORCH)('the Gradescope kit without a server or settings', () => {
  it('a clear message, no score, no trace', async () => {
    const r = await runGradescope('corrected.py', 'a@u.edu', {
      UNROLL_URL: 'http://127.0.0.1:9',
      UNROLL_ASSIGNMENT: 'x',
      UNROLL_TOKEN: 't',
    });
    expect(r.results.output).toContain('the grading server http://127.0.0.1:9 could not be reached');
    const none = await runGradescope('corrected.py', 'a@u.edu', {});
    expect(none.results.output).toContain('set UNROLL_URL, UNROLL_ASSIGNMENT, UNROLL_TOKEN');
  });
});

describe('make_autograder.sh', () => {
  it('zips what Gradescope needs at the zip’s root: the files the tests lay out in source/, and unroll.env', () => {
    const dir = mkdtempSync(join(tmpdir(), 'unroll-zip-'));
    writeFileSync(join(dir, 'unroll.env'), 'UNROLL_URL=http://x\nUNROLL_ASSIGNMENT=a\nUNROLL_TOKEN=t\n');
    const script = join(import.meta.dirname, '../../integrations/gradescope/make_autograder.sh');
    const made = spawnSync('bash', [script, join(dir, 'unroll.env'), join(dir, 'ag.zip')], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const list = spawnSync('python3', ['-m', 'zipfile', '-l', join(dir, 'ag.zip')], { encoding: 'utf8' }).stdout;
    const names = list
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/)[0])
      .filter(Boolean)
      .sort();
    expect(names).toEqual([...GRADESCOPE_SOURCE.map((f) => f.split('/').at(-1)!), 'unroll.env'].sort());
    const bad = spawnSync('bash', [script, join(dir, 'missing.env')], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
  });
});
