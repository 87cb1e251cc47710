// UNROLL_OFFLOAD_BYTES on /v1/stream: frames above it are parsed and validated in a worker and a large
// result's frames are encoded there. A client sees the same frames, byte for byte and in the same order,
// as from a server that does everything on the event loop: results of every op, sequence feeds, errors.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { WebSocket } from 'ws';
import type { ComputePool } from '../../src/compute/service.js';
import { testApp } from '../helpers/app.js';
import { storeModel } from '../helpers/v2.js';

let off: FastifyInstance;
let on: FastifyInstance;
const env = { UNROLL_INLINE_COST: '0' };
beforeAll(async () => {
  [off, on] = await Promise.all([
    testApp({ poolThreads: 1, env: { ...env, UNROLL_OFFLOAD_BYTES: '0' } }),
    testApp({ poolThreads: 1, env: { ...env, UNROLL_OFFLOAD_BYTES: 'Infinity' } }),
  ]);
  for (const app of [off, on]) {
    await app.ready();
    await storeModel(app, { name: 'm', d: 3, H: 4, C: 2 });
  }
});
afterAll(async () => {
  await Promise.all([off?.close(), on?.close()]);
});

const poolOf = (app: FastifyInstance) => (app.services.compute as unknown as { pool: ComputePool }).pool;

/** Sends the frames on a fresh socket and collects every text frame until `last` of them are terminal. */
async function exchange(app: FastifyInstance, frames: string[], last: number): Promise<string[]> {
  const texts: string[] = [];
  let done = 0;
  let resolve = () => {};
  const finished = new Promise<void>((r) => {
    resolve = r;
  });
  const ws: WebSocket = await app.injectWS('/v1/stream', {}, {
    onInit: (s: WebSocket) =>
      s.on('message', (d) => {
        // a stored model's id is each app's own
        const t = d.toString().replace(/"modelId":"[^"]+"/, '"modelId":"…"');
        texts.push(t);
        if (/^\{("skipped":\d+,)?"event":"(result|error|sequence_end)"/.test(t) && ++done === last) resolve();
      }),
  } as never);
  for (const f of frames) ws.send(f);
  await finished;
  ws.terminate();
  return texts;
}

async function same(frames: unknown[], last = frames.length) {
  const texts = frames.map((f) => (typeof f === 'string' ? f : JSON.stringify(f)));
  const call = vi.spyOn(poolOf(off), 'call');
  const a = await exchange(off, texts, last);
  const b = await exchange(on, texts, last);
  expect(call).toHaveBeenCalled();
  call.mockRestore();
  // concurrent ops interleave as their work happens to finish: each op's own frames are compared, in order
  const byId = (ts: string[]) => {
    const m = new Map<string, string[]>();
    for (const t of ts) {
      const id = String(JSON.parse(t).id);
      m.set(id, [...(m.get(id) ?? []), t]);
    }
    return Object.fromEntries(m);
  };
  expect(byId(a)).toEqual(byId(b));
  expect(a.length).toBe(b.length);
  return a.map((t) => JSON.parse(t));
}

const model = { config: { inputSize: 3, hiddenSize: 4, outputSize: 2 }, init: { seed: 7 } };
const x = [
  [
    [0.5, -1, 2],
    [1, 0.25, -0.5],
    [-2, 1, 0],
  ],
  [
    [1, 1, 1],
    [0, -1, 0.5],
    [0.3, 0.3, -0.3],
  ],
];

describe('/v1/stream, offloaded or not', () => {
  it.each([
    [{ op: 'forward', id: 'f', model, x }],
    [{ op: 'forward', id: 'f', model, x, include: ['h', 'logits'] }],
    [{ op: 'bptt', id: 'b', model, x, targets: [1, 0] }],
    [{ op: 'bptt', id: 'b', model, x, targets: [1, 0], include: ['h', 'dh', 'dx', 'dh0', 'logits'], truncate: 2 }],
    [{ op: 'bptt', id: 'b', modelId: 'm', x, targets: [0, 1], include: ['dx'] }],
  ])('%j: the same frames', async (frame) => {
    const frames = await same([frame]);
    expect(frames.at(-1).event).toBe('result');
    expect(frames.filter((f) => f.event === 'forward_step')).toHaveLength(3);
  });

  it('several ops and a cancel right behind a large op keep their order', async () => {
    const frames = await same(
      [
        { op: 'forward', id: 'a', model, x },
        { op: 'bptt', id: 'b', model, x, targets: [1, 0] },
        { op: 'cancel', id: 'b' },
        { op: 'forward', id: 'c', modelId: 'm', x },
      ],
      3,
    );
    // the cancel was handled after its op had started, in both: b is cancelled, a and c finish
    expect(frames.find((f) => f.id === 'b' && f.event === 'error')?.status).toBe(499);
    expect(
      frames
        .filter((f) => f.event === 'result')
        .map((f) => f.id)
        .sort(),
    ).toEqual(['a', 'c']);
  });

  it('a sequence session: open, two feeds, end', async () => {
    const frames = await same(
      [
        { op: 'sequence', id: 's', modelId: 'm', sequenceId: 'seq-1' },
        { op: 'feed', id: 's', x },
        { op: 'feed', id: 's', x: [x[0].slice(0, 2), x[1].slice(0, 2)], include: ['h'], end: true },
      ],
      3,
    );
    expect(frames.filter((f) => f.event === 'result').map((f) => f.steps)).toEqual([3, 5]);
  });

  it.each([
    ['not JSON', '{"op": "forward", '],
    ['an unknown op', { op: 'backward', id: 'x' }],
    ['a bad x', { op: 'forward', id: 'e', model, x: [[1, 2, 3]] }],
    ['both model and modelId', { op: 'forward', id: 'e', model, modelId: 'm', x }],
    ['a target out of range', { op: 'bptt', id: 'e', model, x, targets: [5, 0] }],
    ['an unknown stored model', { op: 'forward', id: 'e', modelId: 'nobody', x }],
    ['a feed without a session', { op: 'feed', id: 'nope', x }],
  ])('%s: the same error frame', async (_n, frame) => {
    const frames = await same([frame]);
    expect(frames.at(-1).event).toBe('error');
  });
});
