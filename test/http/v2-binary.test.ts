// The binary tensor data extension on /v2 infer, as tritonclient sends it: a JSON header, then raw
// little-endian FP32 or FP64 bytes; the same numbers as the JSON form, and a 400 for every malformed body.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INFERENCE_HEADER } from '../../src/http/v2-binary.js';
import { testApp } from '../helpers/app.js';
import { infer, inferBody, makeX, storeModel } from '../helpers/v2.js';

let app: FastifyInstance;
beforeAll(async () => {
  app = await testApp();
  await storeModel(app, { name: 'm', d: 3, H: 5, C: 4 });
});
afterAll(() => app.close());

const x = makeX(2, 3, 3);
const shape = [2, 3, 3];

/** A tritonclient-style body: header JSON, then the bytes of x in the datatype. */
function binaryBody(datatype: 'FP32' | 'FP64', opts: { extra?: Buffer; size?: number; values?: number[] } = {}) {
  const values = opts.values ?? x.flat(2);
  const width = datatype === 'FP32' ? 4 : 8;
  const bytes = Buffer.alloc(values.length * width);
  values.forEach((v, i) => {
    if (width === 4) bytes.writeFloatLE(v, i * 4);
    else bytes.writeDoubleLE(v, i * 8);
  });
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'x', shape, datatype, parameters: { binary_data_size: opts.size ?? bytes.length } }],
      outputs: [{ name: 'y', parameters: { binary_data: true } }, { name: 'hT' }],
    }),
  );
  return { payload: Buffer.concat([header, bytes, opts.extra ?? Buffer.alloc(0)]), headerLength: header.length };
}

const post = (body: { payload: Buffer; headerLength: number }, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/v2/models/m/infer',
    payload: body.payload,
    headers: { [INFERENCE_HEADER]: String(body.headerLength), ...headers },
  });

describe('binary tensor data', () => {
  it.each(['FP32', 'FP64'] as const)('%s bytes give the numbers of the JSON request', async (datatype) => {
    const json = await infer(app, 'm', inferBody(x, { datatype, outputs: ['y', 'hT'] }));
    for (const headers of [{}, { 'content-type': 'application/octet-stream' }] as Record<string, string>[]) {
      const r = await post(binaryBody(datatype), headers);
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json().outputs).toEqual(json.json().outputs);
    }
  });

  it.each<[string, ReturnType<typeof binaryBody>, string]>([
    ['a header length past the body', { payload: Buffer.from('{}'), headerLength: 99 }, 'the body has 2 bytes'],
    ['a header that is not JSON', { payload: Buffer.from('{nope'), headerLength: 5 }, 'not valid JSON'],
    ['a size that is not a multiple of the width', binaryBody('FP32', { size: 6 }), 'not a multiple of 4'],
    ['a size past the end', binaryBody('FP64', { size: 8 * 19 }), 'needs 152 bytes'],
    ['bytes nobody claims', binaryBody('FP64', { extra: Buffer.alloc(8) }), '8 bytes after the last input'],
    ['a NaN', binaryBody('FP64', { values: [...x.flat(2).slice(0, 17), Number.NaN] }), '["inputs",0,"data",17]'],
  ])('%s is a 400', async (_what, body, fragment) => {
    const r = await post(body);
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toContain(fragment);
  });

  it('a body that is neither JSON nor binary is a 400', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v2/models/m/infer',
      payload: 'x=1',
      headers: { 'content-type': 'text/plain' },
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toContain(INFERENCE_HEADER);
  });
});
