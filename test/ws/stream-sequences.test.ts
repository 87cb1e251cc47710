// The stream's stateful mode: a `sequence` op opens a session on a stored model and `feed` frames add
// timesteps from the state the last one left; fed in chunks of 1, 3 and T steps it equals one /v1/forward,
// and its sequence is the same one /v2 infer feeds.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamFrame } from '../../src/schemas/stream.js';
import { testApp } from '../helpers/app.js';
import { flat } from '../helpers/oracle.js';
import { infer, inferBody, makeX, maxAbsDiff, outputsOf, sliceT, storeModel } from '../helpers/v2.js';
import { type Frames, injectFrames } from '../helpers/ws.js';

const B = 2;
const T = 7;
const d = 3;
const x = makeX(B, T, d);

let app: FastifyInstance;
let modelId: string;
let truth: { y: number[][]; h: number[][][]; hT: number[][] };
beforeAll(async () => {
  app = await testApp({ env: { UNROLL_STREAM_MAX_OPS: '2' } });
  await app.ready();
  modelId = await storeModel(app, { d, H: 5, C: 4 });
  const r = await app.inject({ method: 'POST', url: `/v1/models/${modelId}/forward`, payload: { x, include: ['h'] } });
  truth = r.json();
});
afterAll(() => app.close());

/** Feeds x in chunks of `size`; checks the step numbering; returns h per step and the last result. */
async function feedAll(f: Frames, id: string, size: number) {
  const hs: number[][][] = [];
  let last: Record<string, unknown> = {};
  for (let t0 = 0; t0 < T; t0 += size) {
    const t1 = Math.min(T, t0 + size);
    f.send({ op: 'feed', id, x: sliceT(x, t0, t1), end: t1 === T });
    for (let t = t0; t < t1; t++) {
      const s = await f.next((m) => m.id === id);
      expect(StreamFrame.parse(s)).toMatchObject({ event: 'forward_step', t });
      hs.push(s.h);
    }
    last = await f.next((m) => m.id === id);
    expect(last).toMatchObject({ event: 'result', id, steps: t1 });
  }
  return { hs, last };
}

describe('stateful sessions on /v1/stream', () => {
  it.each([1, 3, T])('fed in chunks of %i steps, gives the h and y of one forward pass', async (size) => {
    const f = await injectFrames(app, '/v1/stream');
    f.send({ op: 'sequence', id: 's', modelId });
    const opened = await f.next();
    expect(StreamFrame.parse(opened)).toMatchObject({ event: 'sequence_open', id: 's', modelId });
    const { hs, last } = await feedAll(f, 's', size);
    // h per step, as one /v1 forward computes it from zeros
    for (let t = 0; t < T; t++) expect(maxAbsDiff(flat(hs[t]), flat(truth.h.map((seq) => seq[t])))).toBeLessThan(1e-12);
    expect(maxAbsDiff(flat(last.y), flat(truth.y))).toBeLessThan(1e-12);
    expect(maxAbsDiff(flat(last.hT), flat(truth.hT))).toBeLessThan(1e-12);
    expect(await f.next()).toMatchObject({ event: 'sequence_end', id: 's', steps: T, reason: 'end' });
    // after the end, the session is gone
    f.send({ op: 'feed', id: 's', x: sliceT(x, 0, 1) });
    expect(await f.next()).toMatchObject({ event: 'error', id: 's', status: 404 });
    f.ws.close();
  });

  it('shares its sequence with /v2: two steps over the socket, the rest over infer, equal one forward pass', async () => {
    const f = await injectFrames(app, '/v1/stream');
    f.send({ op: 'sequence', id: 'w', modelId, sequenceId: 'shared-1' });
    expect(await f.next()).toMatchObject({ event: 'sequence_open', sequenceId: 'shared-1' });
    f.send({ op: 'feed', id: 'w', x: sliceT(x, 0, 2) });
    expect(await f.next((m) => m.event === 'result')).toMatchObject({ steps: 2 });
    const r = await infer(
      app,
      modelId,
      inferBody(sliceT(x, 2, T), { parameters: { sequence_id: 'shared-1' }, outputs: ['y', 'hT'] }),
    );
    expect(r.statusCode, r.body).toBe(200);
    const out = outputsOf(r.json());
    expect(maxAbsDiff(Float64Array.from(out.y.data), flat(truth.y))).toBeLessThan(1e-12);
    f.ws.close();
  });

  it('a bad feed is an error frame that leaves the session and its state as they were', async () => {
    const f = await injectFrames(app, '/v1/stream');
    f.send({ op: 'sequence', id: 'b', modelId });
    await f.next();
    f.send({ op: 'feed', id: 'b', x: sliceT(x, 0, 3) });
    await f.next((m) => m.event === 'result');
    f.send({ op: 'feed', id: 'b', x: [[[1, 2]]] });
    expect(await f.next((m) => m.event === 'error')).toMatchObject({ id: 'b', status: 400, issues: [{ path: ['x'] }] });
    const { hs, last } = await (async () => {
      const hsRest: number[][][] = [];
      f.send({ op: 'feed', id: 'b', x: sliceT(x, 3, T) });
      for (let t = 3; t < T; t++) hsRest.push((await f.next((m) => m.event === 'forward_step' && m.t === t)).h);
      return { hs: hsRest, last: await f.next((m) => m.event === 'result') };
    })();
    expect(maxAbsDiff(flat(hs[hs.length - 1]), flat(truth.hT))).toBeLessThan(1e-12);
    expect(last).toMatchObject({ steps: T });
    f.ws.close();
  });

  it('cancel ends the session and forgets its state; sessions count toward the op cap', async () => {
    const f = await injectFrames(app, '/v1/stream');
    f.send({ op: 'sequence', id: 'c1', modelId, sequenceId: 'to-forget' });
    f.send({ op: 'sequence', id: 'c2', modelId });
    await f.next((m) => m.id === 'c2' && m.event === 'sequence_open');
    f.send({ op: 'sequence', id: 'c3', modelId });
    expect(await f.next((m) => m.id === 'c3')).toMatchObject({ event: 'error', status: 429 });
    f.send({ op: 'feed', id: 'c1', x: sliceT(x, 0, 2) });
    await f.next((m) => m.id === 'c1' && m.event === 'result');
    f.send({ op: 'cancel', id: 'c1' });
    expect(await f.next((m) => m.id === 'c1' && m.event === 'sequence_end')).toMatchObject({
      reason: 'cancelled',
      steps: 2,
    });
    // the state is gone: continuing the sequence over /v2 without sequence_start is refused
    const r = await infer(app, modelId, inferBody(sliceT(x, 2, 3), { parameters: { sequence_id: 'to-forget' } }));
    expect(r.statusCode).toBe(400);
    // and the freed slot takes a new session
    f.send({ op: 'sequence', id: 'c4', modelId });
    expect(await f.next((m) => m.id === 'c4')).toMatchObject({ event: 'sequence_open' });
    f.ws.close();
  });

  it('refuses a feed without a session and a session on an unknown model', async () => {
    const f = await injectFrames(app, '/v1/stream');
    f.send({ op: 'feed', id: 'none', x });
    expect(await f.next()).toMatchObject({ event: 'error', id: 'none', status: 404 });
    f.send({ op: 'sequence', id: 'm', modelId: 'no-such-model' });
    expect(await f.next()).toMatchObject({ event: 'error', id: 'm', status: 404 });
    f.ws.close();
  });
});
