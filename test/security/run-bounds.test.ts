// Issue 12, item 4: a run's whole cost (its steps, snapshots and held-out evaluation) and its log's bytes are
// admitted before it is queued, and a cancel during the evaluation is seen by the worker itself.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';

let app: FastifyInstance | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

const parityModel = (H: number) => ({ config: { inputSize: 1, hiddenSize: H, outputSize: 2 }, init: { seed: 1 } });
const post = (payload: object) => app!.inject({ method: 'POST', url: '/v1/runs', payload });

describe('run admission', () => {
  it('refuses a run whose log could pass UNROLL_RUN_MAX_LOG_BYTES (hiddenEvery: 1 at T = H = 32)', async () => {
    app = await testApp();
    const r = await post({
      task: { name: 'parity', length: 32 },
      model: parityModel(32),
      steps: 100_000,
      hiddenEvery: 1,
    });
    expect(r.statusCode).toBe(413);
    expect(r.json().detail).toContain('UNROLL_RUN_MAX_LOG_BYTES');
    expect(r.json().detail).toContain('hiddenEvery');
    // the same run with sparse snapshots and fewer steps fits
    const ok = await post({ task: { name: 'parity', length: 32 }, model: parityModel(32), steps: 10, hiddenEvery: 5 });
    expect(ok.statusCode, ok.body).toBe(202);
  });

  it('counts the evaluation in the run’s cost: 5 cheap steps with an expensive evaluation are refused', async () => {
    app = await testApp({ env: { UNROLL_RUN_MAX_COST: '1e9' } });
    // one step of B = 32 costs ~2.8·10⁷; evaluating 1000 sequences costs ~8.6·10⁸
    const body = { task: { name: 'parity', length: 200 }, model: parityModel(64), steps: 5, batchSize: 32 };
    const r = await post(body);
    expect(r.statusCode).toBe(413);
    expect(r.json().detail).toContain('UNROLL_RUN_MAX_COST');
    expect(r.json().detail).toContain('evaluation on 1000 sequences');
  });

  it('refuses a run whose steps together cost more than UNROLL_RUN_MAX_COST', async () => {
    app = await testApp();
    const r = await post({ task: { name: 'parity', length: 200 }, model: parityModel(256), steps: 1_000_000 });
    expect(r.statusCode).toBe(413);
    expect(r.json().detail).toContain('1000000 steps');
  });
});

describe('cancel during the evaluation', () => {
  it('is seen by the worker (the run stops itself, at its last step) instead of waiting for the evaluation', async () => {
    app = await testApp();
    // one step, then an evaluation on 1000 sequences of T = 1000, H = 128: ~1.6·10¹⁰ multiply-adds
    const r = await post({ task: { name: 'parity', length: 1000 }, model: parityModel(128), steps: 1, batchSize: 1 });
    expect(r.statusCode, r.body).toBe(202);
    const id = r.json().id;
    // the final snapshot (step 1) is recorded just before the evaluation starts
    const events = app.services.runs;
    for (let i = 0; ; i++) {
      if ((await events.events(id, 0, 0, 100)).some((e) => e.kind === 'hidden')) break;
      if (i > 600) throw new Error('the run never reached its evaluation');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const cancelled = await app.inject({ method: 'POST', url: `/v1/runs/${id}/cancel` });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ status: 'cancelled' });
    // a worker that stopped by itself says where; a terminated one could not
    expect(cancelled.json().reason).toContain('(at step 1)');
  });
});
