// /v2 over a real socket, as a KServe or Triton client talks to it: fetch with keep-alive, a sequence fed
// one timestep per request, and a binary body sent with no content type at all (as tritonclient does).
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { INFERENCE_HEADER } from '../../src/http/v2-binary.js';
import { testApp } from '../helpers/app.js';
import { inferBody, makeX, maxAbsDiff, sliceT, storeModel } from '../helpers/v2.js';

let app: FastifyInstance;
let base: string;
beforeAll(async () => {
  app = await testApp();
  await storeModel(app, { name: 'rnn', d: 2, H: 4, C: 3 });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(() => app.close());

type Reply = { outputs: { name: string; data: number[] }[] };

const post = async (body: unknown) => {
  const r = await fetch(`${base}/v2/models/rnn/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Reply };
};

it('a sequence fed one timestep per request ends where one request ends', async () => {
  expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
  const T = 5;
  const x = makeX(1, T, 2, 4);
  let hT: number[] = [];
  for (let t = 0; t < T; t++) {
    const parameters = { sequence_id: 99, sequence_start: t === 0, sequence_end: t === T - 1 };
    const r = await post(inferBody(sliceT(x, t, t + 1), { parameters, outputs: ['hT'] }));
    expect(r.status).toBe(200);
    hT = r.body.outputs[0].data;
  }
  const once = await post(inferBody(x, { outputs: ['hT'] }));
  expect(maxAbsDiff(hT, once.body.outputs[0].data)).toBeLessThan(1e-12);
});

it('a binary body with no content type', async () => {
  const x = makeX(1, 2, 2).flat(2);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'x', shape: [1, 2, 2], datatype: 'FP64', parameters: { binary_data_size: 32 } }],
    }),
  );
  const bytes = Buffer.from(Float64Array.from(x).buffer);
  const r = await fetch(`${base}/v2/models/rnn/infer`, {
    method: 'POST',
    headers: { [INFERENCE_HEADER]: String(header.length) },
    body: new Uint8Array(Buffer.concat([header, bytes])),
  });
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await r.json()) as Reply;
  expect(r.status, JSON.stringify(body)).toBe(200);
  const json = await post({ inputs: [{ name: 'x', shape: [1, 2, 2], datatype: 'FP64', data: x }] });
  expect(body.outputs).toEqual(json.body.outputs);
});
