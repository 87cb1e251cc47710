// The PrairieLearn kit run as PrairieLearn's external grader runs it: /grade's layout in a temp dir
// (data/data.json, student/myrnn.py, serverFilesCourse/unroll/ as install.sh copies it, tests/), Debian's
// python3 with python3-torch, against a live server. Skipped (never passed) when it cannot import torch.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';
import { gradingClient, TEACHER } from '../helpers/grading-http.js';
import { HAS_TORCH, KIT_QUESTIONS, type KitRun, listen, runPrairieLearn } from '../helpers/kits.js';

const FIXTURES = ['sheet.py', 'corrected.py', 'raises.py', 'loops.py'];
const KIT_ENV = { UNROLL_KIT_TIMEOUT: '10' };
/** What PrairieLearn serializes for an external grader (the grade() data of a v3 question). */
const data = (seed: number, params: object = {}) => ({
  params,
  correct_answers: {},
  submitted_answers: { _files: [{ name: 'myrnn.py', contents: '' }] },
  format_errors: {},
  partial_scores: {},
  score: 0,
  feedback: {},
  variant_seed: seed,
  options: {},
  raw_submitted_answers: {},
  gradable: true,
});

let app: FastifyInstance;
let settings: Record<string, string>;
const runs: Record<string, KitRun> = {};
let jacobian: KitRun;

const test = (r: KitRun, name: string) => r.results.tests.find((t: { name: string }) => t.name.startsWith(name));

describe.skipIf(!HAS_TORCH)('the PrairieLearn kit (serverFilesCourse/unroll/run)', () => {
  beforeAll(async () => {
    app = await testApp({ env: { UNROLL_INSTRUCTOR_TOKENS: TEACHER } });
    const url = await listen(app);
    const client = gradingClient(app);
    const id = (await client.create({ preset: 'sheet-ex2', questions: KIT_QUESTIONS })).json().id;
    settings = { UNROLL_URL: url, UNROLL_ASSIGNMENT: id, UNROLL_TOKEN: TEACHER };
    await Promise.all(
      FIXTURES.map(async (f, i) => {
        runs[f] = await runPrairieLearn(f, data(1000 + i), settings, KIT_ENV);
      }),
    );
    // Exercise 3: dh_t/dU at every t, through the student's autograd, one backward pass per element
    const ex3 = (await client.create({ preset: 'sheet-ex3' })).json().id;
    jacobian = await runPrairieLearn(
      'corrected.py',
      data(7, { unroll_student: 'pl-ex3' }),
      { ...settings, UNROLL_ASSIGNMENT: ex3 },
      KIT_ENV,
    );
  }, 600_000);
  afterAll(() => app?.close());

  it('a corrected myRNN: score 1, every partial score 1, one test per question', () => {
    const r = runs['corrected.py'];
    expect(r.code).toBe(0);
    expect(r.results).toMatchObject({ gradable: true, score: 1 });
    expect(Object.values(r.results.partial_scores).every((p) => (p as { score: number }).score === 1)).toBe(true);
    expect(r.results.tests).toHaveLength(KIT_QUESTIONS.length + 1);
  });

  it('the sheet’s myRNN as printed: the error and the mistakes read in its code, no kit trace', () => {
    const r = runs['sheet.py'];
    expect(r.results.message).toContain("AttributeError: 'myRNN' object has no attribute 'h_size'");
    const found = test(r, 'What your code does');
    expect(found.description).toContain('relu-instead-of-tanh');
    expect(found.description).toContain('v-on-input');
    expect(found.description).toContain('wrong-sequence-length');
    expect(JSON.stringify(r.results)).not.toContain('Traceback');
  });

  it('code that raises or never ends: not gradable (PrairieLearn does not count the attempt), with the reason', () => {
    const raised = runs['raises.py'].results;
    expect(raised.gradable).toBe(false);
    expect(raised.format_errors).toEqual([expect.stringContaining('ValueError: not written yet (myrnn.py, line 13')]);
    const looped = runs['loops.py'].results;
    expect(looped.gradable).toBe(false);
    expect(looped.format_errors[0]).toContain('did not finish within 10 s');
  });

  it('the student is params.unroll_student, else the variant: pl-variant-<seed> in the gradebook', async () => {
    const r = await app.inject({
      method: 'GET',
      url: `/v1/assignments/${settings.UNROLL_ASSIGNMENT}/submissions?format=csv`,
      headers: { authorization: `Bearer ${TEACHER}` },
    });
    expect(r.body).toContain(',pl-variant-1001,');
  });

  it('sheet-ex3: h and Exercise 3’s dh_t/dU from the student’s own autograd, full marks', () => {
    expect(jacobian.results).toMatchObject({ gradable: true, score: 1 });
    expect(test(jacobian, 'dh_dU').points).toBe(3);
  });
});
