// UNROLL_OFFLOAD_BYTES on /v2 infer: JSON and binary tensor data bodies parsed in a worker, large answers
// encoded there; the same bytes as the event loop's path, for answers and for the {"error"} bodies.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ComputePool } from '../../src/compute/service.js';
import { INFERENCE_HEADER } from '../../src/http/v2-binary.js';
import { testApp } from '../helpers/app.js';
import { inferBody, makeX, storeModel } from '../helpers/v2.js';

let off: FastifyInstance;
let on: FastifyInstance;
// every task computes in the pool in both apps (one kernel backend), so that only the offload differs
const env = { UNROLL_INLINE_COST: '0' };
beforeAll(async () => {
  [off, on] = await Promise.all([
    testApp({ poolThreads: 1, env: { ...env, UNROLL_OFFLOAD_BYTES: '0' } }),
    testApp({ poolThreads: 1, env: { ...env, UNROLL_OFFLOAD_BYTES: 'Infinity' } }),
  ]);
  for (const app of [off, on]) await storeModel(app, { name: 'm', d: 3, H: 5, C: 4 });
});
afterAll(async () => {
  await Promise.all([off?.close(), on?.close()]);
});

const poolOf = (app: FastifyInstance) => (app.services.compute as unknown as { pool: ComputePool }).pool;

async function same(payload: string | Buffer, headers: Record<string, string> = {}, url = '/v2/models/m/infer') {
  const call = vi.spyOn(poolOf(off), 'call');
  const req = (app: FastifyInstance) =>
    app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json', ...headers } });
  // one after the other: a sequence's chunks must reach each app in the same order
  const a = await req(off);
  const b = await req(on);
  expect(call).toHaveBeenCalled();
  call.mockRestore();
  expect(a.statusCode, a.body).toBe(b.statusCode);
  expect(a.headers['content-type']).toBe(b.headers['content-type']);
  expect(a.body).toBe(b.body);
  return a;
}

const x = makeX(2, 4, 3);
const json = (v: unknown) => JSON.stringify(v);

function binary(datatype: 'FP32' | 'FP64', values: number[], extra = 0, size?: number) {
  const width = datatype === 'FP32' ? 4 : 8;
  const bytes = Buffer.alloc(values.length * width + extra);
  values.forEach((v, i) => {
    if (width === 4) bytes.writeFloatLE(v, i * 4);
    else bytes.writeDoubleLE(v, i * 8);
  });
  const header = Buffer.from(
    json({
      inputs: [
        { name: 'x', shape: [2, 4, 3], datatype, parameters: { binary_data_size: size ?? values.length * width } },
      ],
      outputs: [{ name: 'y' }, { name: 'h' }],
    }),
  );
  return { payload: Buffer.concat([header, bytes]), headers: { [INFERENCE_HEADER]: String(header.length) } };
}

describe('/v2 infer, offloaded or not', () => {
  it.each([
    ['FP64, y and hT', inferBody(x, { datatype: 'FP64' })],
    ['FP32, every output', inferBody(x, { datatype: 'FP32', outputs: ['y', 'h', 'hT'] })],
    ['with an id', { ...inferBody(x, { outputs: ['h'] }), id: 'req-1' }],
  ])('%s: the same answer', async (_n, body) => {
    expect((await same(json(body))).statusCode).toBe(200);
  });

  it('a sequence fed in chunks', async () => {
    const p = (start: boolean, end: boolean) => ({ sequence_id: 'seq', sequence_start: start, sequence_end: end });
    await same(json({ ...inferBody(x, {}), parameters: p(true, false) }));
    await same(json({ ...inferBody(x, { outputs: ['h'] }), parameters: p(false, true) }));
  });

  it.each(['FP32', 'FP64'] as const)('binary %s: the same answer', async (datatype) => {
    const b = binary(datatype, x.flat(2));
    expect((await same(b.payload, b.headers)).statusCode).toBe(200);
    const o = binary(datatype, x.flat(2));
    await same(o.payload, { ...o.headers, 'content-type': 'application/octet-stream' });
  });

  it.each([
    ['not JSON', '{"inputs": ['],
    ['__proto__', `{"__proto__": {"a": 1}, "inputs": []}`],
    ['no inputs', json({ inputs: [] })],
    ['an unknown input', json({ inputs: [{ name: 'z', shape: [1, 1, 3], datatype: 'FP64', data: [1, 2, 3] }] })],
    ['a bad datatype', json({ inputs: [{ name: 'x', shape: [1, 1, 3], datatype: 'INT8', data: [1, 2, 3] }] })],
    ['too few numbers', json({ inputs: [{ name: 'x', shape: [1, 2, 3], datatype: 'FP64', data: [1, 2, 3] }] })],
    ['the wrong d', json({ inputs: [{ name: 'x', shape: [1, 1, 2], datatype: 'FP64', data: [1, 2] }] })],
    ['a misspelt parameter', json({ ...inferBody(x, {}), parameters: { sequenceid: 1, sequence_ind: true } })],
    ['an unknown output', json({ ...inferBody(x, {}), outputs: [{ name: 'logits' }] })],
  ])('%s: the same error', async (_n, body) => {
    expect((await same(body)).statusCode).toBe(400);
  });

  it('malformed binary bodies: the same errors', async () => {
    const short = binary('FP64', x.flat(2), 0, 8 * 30);
    expect((await same(short.payload, short.headers)).statusCode).toBe(400);
    const extra = binary('FP64', x.flat(2), 5);
    expect((await same(extra.payload, extra.headers)).statusCode).toBe(400);
    const b = binary('FP64', x.flat(2));
    expect((await same(b.payload, { [INFERENCE_HEADER]: '100000' })).statusCode).toBe(400);
    expect((await same(b.payload, { [INFERENCE_HEADER]: 'x' })).statusCode).toBe(400);
    const header = json({ inputs: [{ name: 'x', shape: [1], datatype: 'FP64', parameters: { binary_data_size: 3 } }] });
    const odd = Buffer.concat([Buffer.from(header), Buffer.alloc(3)]);
    expect((await same(odd, { [INFERENCE_HEADER]: String(header.length) })).statusCode).toBe(400);
    expect((await same(Buffer.from('{nope'), { [INFERENCE_HEADER]: '5' })).statusCode).toBe(400);
  });

  it('an unknown model: the same 404', async () => {
    expect((await same(json(inferBody(x, {})), {}, '/v2/models/nobody/infer')).statusCode).toBe(404);
  });
});
