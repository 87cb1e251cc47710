// Stateful sequences over /v2 infer: a sequence fed in chunks of 1, 3 and T steps gives the h, hT and y of one
// /v1 forward; start, end and expiry behave as Triton's sequence extension says; the pool path keeps state too.
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { testApp } from '../helpers/app.js';
import { flat } from '../helpers/oracle.js';
import { infer, inferBody, makeX, maxAbsDiff, outputsOf, sliceT, storeModel } from '../helpers/v2.js';

const B = 2;
const T = 7;
const d = 3;
const TOL = 1e-12;

/** Feeds x in chunks of `size` steps as sequence `seq`; returns h, hT and y assembled like one call's. */
async function feed(app: FastifyInstance, model: string, x: number[][][], size: number, seq: string | number) {
  const hs: number[][][][] = [];
  const ys: number[][] = [];
  let hT: number[] = [];
  for (let t0 = 0; t0 < T; t0 += size) {
    const t1 = Math.min(T, t0 + size);
    const parameters = { sequence_id: seq, sequence_start: t0 === 0, sequence_end: t1 === T };
    const r = await infer(app, model, inferBody(sliceT(x, t0, t1), { parameters, outputs: ['y', 'h', 'hT'] }));
    expect(r.statusCode, r.body).toBe(200);
    const o = outputsOf(r.json());
    // h of this chunk is (B, t1 − t0, H): keep it per batch row to concatenate along T
    const H = o.hT.shape[1];
    hs.push(Array.from({ length: B }, (_, b) => [o.h.data.slice(b * (t1 - t0) * H, (b + 1) * (t1 - t0) * H)]));
    ys.push(o.y.data);
    hT = o.hT.data;
  }
  const h = Array.from({ length: B }, (_, b) => hs.flatMap((chunk) => chunk[b][0]));
  return { h: h.flat(), hT, ys };
}

describe('a sequence in chunks equals one /v1 forward', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(() => app.close());

  describe.each(['last', 'all'] as const)('readout %s', (readout) => {
    const x = makeX(B, T, d, 3);
    let id: string;
    let full: { y: unknown; hT: unknown; h: unknown };
    beforeAll(async () => {
      id = await storeModel(app, { d, H: 6, C: 4, readout, seed: 11 });
      const r = await app.inject({ method: 'POST', url: `/v1/models/${id}/forward`, payload: { x, include: ['h'] } });
      full = r.json();
    });

    it.each([1, 3, T])('chunks of %i steps', async (size) => {
      const got = await feed(app, id, x, size, `${readout}-${size}`);
      expect(maxAbsDiff(got.h, flat(full.h))).toBeLessThan(TOL);
      expect(maxAbsDiff(got.hT, flat(full.hT))).toBeLessThan(TOL);
      const y = flat(full.y);
      if (readout === 'last') {
        // one prediction per sequence: the last chunk's y is the whole sequence's
        expect(maxAbsDiff(got.ys[got.ys.length - 1], y)).toBeLessThan(TOL);
      } else {
        // one per step: the chunks' y, (B, chunk, C) each, interleave back into (B, T, C)
        const C = 4;
        const rows = Array.from({ length: B }, () => [] as number[]);
        for (const chunk of got.ys) {
          const steps = chunk.length / (B * C);
          for (let b = 0; b < B; b++) rows[b].push(...chunk.slice(b * steps * C, (b + 1) * steps * C));
        }
        expect(maxAbsDiff(rows.flat(), y)).toBeLessThan(TOL);
      }
    });
  });

  it('ended sequences are gone; numeric and string ids are the same id', async () => {
    const id = await storeModel(app, { d, seed: 2 });
    const x = makeX(B, 2, d);
    const p = (parameters: Record<string, unknown>) => infer(app, id, inferBody(x, { parameters }));
    expect((await p({ sequence_id: 12, sequence_start: true })).statusCode).toBe(200);
    expect((await p({ sequence_id: '12' })).statusCode).toBe(200);
    expect((await p({ sequence_id: 12, sequence_end: true })).statusCode).toBe(200);
    const r = await p({ sequence_id: 12 });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toContain('"12" is not a live sequence');
  });

  it('start and end in one request is a stateless call; a stateless call never touches a sequence', async () => {
    const id = await storeModel(app, { d, seed: 3 });
    const x = makeX(B, 3, d);
    const stateless = (await infer(app, id, inferBody(x))).json().outputs;
    const once = await infer(
      app,
      id,
      inferBody(x, { parameters: { sequence_id: 'once', sequence_start: true, sequence_end: true } }),
    );
    expect(once.json().outputs).toEqual(stateless);
    expect(app.services.sequences.store.has(id, 'once')).toBe(false);
  });

  it('/metrics shows the live sequences and their bytes of state', async () => {
    const id = await storeModel(app, { d, H: 5, seed: 10 });
    const before = app.services.sequences.store.size;
    await infer(app, id, inferBody(makeX(B, 1, d), { parameters: { sequence_id: 'metered', sequence_start: true } }));
    const text = (await app.inject({ url: '/metrics' })).body;
    expect(text).toContain(`unroll_sequences_live ${before + 1}`);
    expect(text).toMatch(/unroll_sequences_state_bytes \d+/);
  });

  it('a chunk the model rejects leaves the sequence where it was', async () => {
    const id = await storeModel(app, { d, seed: 4 });
    const x = makeX(B, 4, d);
    const go = (xs: number[][][], parameters: Record<string, unknown>) =>
      infer(app, id, inferBody(xs, { parameters, outputs: ['hT'] }));
    await go(sliceT(x, 0, 2), { sequence_id: 'k', sequence_start: true });
    expect((await go(makeX(B, 1, d + 1), { sequence_id: 'k' })).statusCode).toBe(400);
    expect((await go(makeX(1, 1, d), { sequence_id: 'k' })).statusCode).toBe(400);
    const hT = (await go(sliceT(x, 2, 4), { sequence_id: 'k', sequence_end: true })).json().outputs[0].data;
    const full = (await go(x, {})).json().outputs[0].data;
    expect(maxAbsDiff(hT, full)).toBeLessThan(TOL);
  });

  it('new weights mid-sequence are a 400 telling the client to start again', async () => {
    const id = await storeModel(app, { d, seed: 5 });
    const x = makeX(B, 1, d);
    await infer(app, id, inferBody(x, { parameters: { sequence_id: 'w', sequence_start: true } }));
    const w = (await app.inject({ url: `/v1/models/${id}` })).json().weights;
    await app.inject({ method: 'PUT', url: `/v1/models/${id}/weights`, payload: w });
    const r = await infer(app, id, inferBody(x, { parameters: { sequence_id: 'w' } }));
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toContain('version 1 → 2');
  });
});

describe('idle expiry', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp({ env: { UNROLL_SEQUENCE_IDLE_SECONDS: '30' } });
  });
  afterEach(() => vi.useRealTimers());
  afterAll(() => app.close());

  it('a sequence idle past UNROLL_SEQUENCE_IDLE_SECONDS is a clear 400; fed in time it lives on', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const id = await storeModel(app, { d });
    const x = makeX(B, 1, d);
    const go = (seq: string, start = false) =>
      infer(app, id, inferBody(x, { parameters: { sequence_id: seq, sequence_start: start } }));
    expect((await go('idle', true)).statusCode).toBe(200);
    expect((await go('fed', true)).statusCode).toBe(200);
    vi.setSystemTime(Date.now() + 20_000);
    expect((await go('fed')).statusCode).toBe(200);
    vi.setSystemTime(Date.now() + 20_000);
    expect((await go('fed')).statusCode).toBe(200);
    const r = await go('idle');
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toContain('expired after more than 30 s idle');
  });
});

describe('in the worker pool', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    // every task goes to the pool, so the state crosses the worker boundary each chunk
    app = await testApp({ poolThreads: 1, env: { UNROLL_INLINE_COST: '0' } });
  });
  afterAll(() => app.close());

  it('chunks of 3 equal one call', async () => {
    const id = await storeModel(app, { d, H: 6, seed: 6 });
    const x = makeX(B, T, d, 8);
    const full = (await app.inject({ method: 'POST', url: `/v1/models/${id}/forward`, payload: { x } })).json();
    const got = await feed(app, id, x, 3, 'pooled');
    expect(maxAbsDiff(got.hT, flat(full.hT))).toBeLessThan(TOL);
    expect(maxAbsDiff(got.ys[got.ys.length - 1], flat(full.y))).toBeLessThan(TOL);
  });
});
