// /v2 (Open Inference Protocol): the spec's own examples, metadata and health, and infer with flat and
// nested data, FP32 and FP64, and output selection, checked against /v1 forward and PyTorch.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';
import { flat, maxRelErr, oracleCases } from '../helpers/oracle.js';
import { infer, inferBody, makeX, maxAbsDiff, outputsOf, storeModel } from '../helpers/v2.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'oip');
const fixture = (f: string) => readFileSync(join(FIXTURES, f), 'utf8');

let app: FastifyInstance;
let lastId: string;
let allId: string;
beforeAll(async () => {
  app = await testApp();
  lastId = await storeModel(app, { name: 'elman', d: 3, H: 5, C: 4 });
  allId = await storeModel(app, { d: 3, H: 5, C: 4, readout: 'all', seed: 9 });
});
afterAll(() => app.close());

const forwardV1 = async (id: string, x: number[][][]) => {
  const r = await app.inject({ method: 'POST', url: `/v1/models/${id}/forward`, payload: { x, include: ['h'] } });
  expect(r.statusCode).toBe(200);
  return r.json() as { y: unknown; hT: unknown; h: unknown };
};

describe("the spec's examples", () => {
  beforeAll(() => storeModel(app, { name: 'mymodel', d: 2, H: 3, C: 2 }));

  it('the request, verbatim, is a 400 naming its shape mismatch and the datatypes an Elman model does not take', async () => {
    const r = await infer(app, 'mymodel', JSON.parse(fixture('spec-request.json')));
    expect(r.statusCode).toBe(400);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const { error } = r.json();
    expect(error).toContain('["inputs",1,"data"]: data holds 1 element; shape [3] needs 3');
    expect(error).toContain('["inputs",0,"datatype"]: datatype UINT32 is not supported');
    expect(error).toContain('["inputs",1,"datatype"]: datatype BOOL is not supported');
  });

  it('the request with its shape fixed ([1]) no longer has the mismatch', async () => {
    const req = JSON.parse(fixture('spec-request.json'));
    req.inputs[1].shape = [1];
    const r = await infer(app, 'mymodel', req);
    expect(r.statusCode).toBe(400);
    expect(r.json().error).not.toContain('needs 3');
  });

  it('the response is not JSON as printed (a comma is missing) and is once the comma is in', () => {
    const text = fixture('spec-response.txt');
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    const fixed = JSON.parse(text.replace('"id" : "42"\n', '"id" : "42",\n'));
    expect(fixed.outputs[0]).toMatchObject({ name: 'output0', shape: [3, 2], datatype: 'FP32' });
  });

  it("the request written for an Elman model answers in the spec response's layout", async () => {
    const spec = JSON.parse(fixture('spec-response.txt').replace('"id" : "42"\n', '"id" : "42",\n'));
    const r = await infer(app, 'mymodel', JSON.parse(fixture('spec-request-elman.json')));
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json();
    // every field of the spec's response is there, with the same JSON types; model_name/version come on top
    expect(Object.keys(body)).toEqual(expect.arrayContaining(Object.keys(spec)));
    expect(body).toMatchObject({ id: '42', model_name: 'mymodel', model_version: '1' });
    expect(body.outputs).toHaveLength(1);
    const [out] = body.outputs;
    expect(Object.keys(out).sort()).toEqual(Object.keys(spec.outputs[0]).sort());
    expect(out).toMatchObject({ name: 'y', shape: [3, 2], datatype: 'FP32' });
    expect(out.data).toHaveLength(6);
    for (const v of out.data) expect(Math.fround(v)).toBe(v);
  });
});

describe('server and model metadata, health', () => {
  it('GET /v2 names the server and the sequence extensions', async () => {
    const r = await app.inject({ url: '/v2' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ name: 'unroll', version: '0.1.0', extensions: ['sequence', 'sequence(string_id)'] });
  });

  it('live and ready', async () => {
    expect((await app.inject({ url: '/v2/health/live' })).json()).toEqual({ live: true });
    const ready = await app.inject({ url: '/v2/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ready: true });
  });

  it('metadata by name and by id: x [-1, -1, d], y [-1, C] (readout last), h and hT', async () => {
    const want = {
      name: 'elman',
      versions: ['1'],
      platform: 'unroll_elman',
      inputs: [{ name: 'x', datatype: 'FP64', shape: [-1, -1, 3] }],
      outputs: [
        { name: 'y', datatype: 'FP64', shape: [-1, 4] },
        { name: 'h', datatype: 'FP64', shape: [-1, -1, 5] },
        { name: 'hT', datatype: 'FP64', shape: [-1, 5] },
      ],
    };
    for (const ref of ['elman', lastId]) {
      const r = await app.inject({ url: `/v2/models/${ref}` });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual(want);
    }
    expect((await app.inject({ url: '/v2/models/elman/versions/1' })).json()).toEqual(want);
  });

  it('a model without a name is named by its id; readout all makes y [-1, -1, C]', async () => {
    const m = (await app.inject({ url: `/v2/models/${allId}` })).json();
    expect(m.name).toBe(allId);
    expect(m.outputs[0]).toEqual({ name: 'y', datatype: 'FP64', shape: [-1, -1, 4] });
  });

  it('model ready, with and without the version', async () => {
    expect((await app.inject({ url: '/v2/models/elman/ready' })).json()).toEqual({ name: 'elman', ready: true });
    const r = await app.inject({ url: `/v2/models/${lastId}/versions/1/ready` });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ name: 'elman', ready: true });
  });
});

describe('infer', () => {
  const x = makeX(2, 4, 3);

  it('nested FP64 x gives y and hT (the defaults) exactly as /v1 forward', async () => {
    const r = await infer(app, 'elman', inferBody(x));
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({ model_name: 'elman', model_version: '1' });
    expect(body).not.toHaveProperty('id');
    expect(body.outputs.map((o: { name: string }) => o.name)).toEqual(['y', 'hT']);
    const o = outputsOf(body);
    const v1 = await forwardV1(lastId, x);
    expect(o.y).toMatchObject({ shape: [2, 4], datatype: 'FP64' });
    expect(o.hT).toMatchObject({ shape: [2, 5], datatype: 'FP64' });
    expect(maxAbsDiff(o.y.data, flat(v1.y))).toBeLessThan(1e-15);
    expect(maxAbsDiff(o.hT.data, flat(v1.hT))).toBeLessThan(1e-15);
  });

  it('flat data gives the same numbers as nested', async () => {
    const nested = outputsOf((await infer(app, 'elman', inferBody(x, { outputs: ['y', 'h', 'hT'] }))).json());
    const r = await infer(app, 'elman', inferBody(x, { flat: true, outputs: ['y', 'h', 'hT'] }));
    expect(r.statusCode).toBe(200);
    expect(outputsOf(r.json())).toEqual(nested);
  });

  it('FP32 rounds x to float32, computes in float64 and answers float32 values', async () => {
    const r = await infer(app, 'elman', inferBody(x, { datatype: 'FP32', outputs: ['y', 'h', 'hT'] }));
    expect(r.statusCode).toBe(200);
    const o = outputsOf(r.json());
    const x32 = x.map((row) => row.map((v) => v.map(Math.fround)));
    const v1 = await forwardV1(lastId, x32);
    for (const [name, ref] of [
      ['y', v1.y],
      ['h', v1.h],
      ['hT', v1.hT],
    ] as const) {
      expect(o[name].datatype).toBe('FP32');
      expect(o[name].data).toEqual(Array.from(flat(ref), Math.fround));
    }
  });

  it('output selection returns exactly the outputs asked for, in that order', async () => {
    const onlyH = (await infer(app, 'elman', inferBody(x, { outputs: ['h'] }))).json();
    expect(onlyH.outputs).toHaveLength(1);
    expect(onlyH.outputs[0]).toMatchObject({ name: 'h', shape: [2, 4, 5] });
    const v1 = await forwardV1(lastId, x);
    expect(maxAbsDiff(onlyH.outputs[0].data, flat(v1.h))).toBeLessThan(1e-15);
    const two = (await infer(app, 'elman', inferBody(x, { outputs: ['hT', 'y'] }))).json();
    expect(two.outputs.map((o: { name: string }) => o.name)).toEqual(['hT', 'y']);
  });

  it('readout all: y is [B, T, C]', async () => {
    const r = await infer(app, allId, inferBody(x, { outputs: ['y'] }));
    expect(r.json().outputs[0].shape).toEqual([2, 4, 4]);
  });

  it('echoes the id, ignores parameters it does not know (a Triton client sends binary_data ones)', async () => {
    const body = {
      ...inferBody(x, { id: 'req-1', parameters: { binary_data_output: false, priority: 0 } }),
      outputs: [{ name: 'y', parameters: { binary_data: false } }],
    };
    const r = await infer(app, 'elman', body);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().id).toBe('req-1');
  });

  it('the versioned path infers on the current version, and the version follows PUT weights', async () => {
    const id = await storeModel(app, { name: 'versioned', d: 3, H: 5, C: 4 });
    const r1 = await infer(app, 'versioned', inferBody(x), '/v2/models/versioned/versions/1/infer');
    expect(r1.json().model_version).toBe('1');
    const w = (await app.inject({ url: `/v1/models/${id}` })).json().weights;
    w['V.bias'] = w['V.bias'].map((v: number) => v + 1);
    expect((await app.inject({ method: 'PUT', url: `/v1/models/${id}/weights`, payload: w })).statusCode).toBe(200);
    const r2 = await infer(app, 'versioned', inferBody(x));
    expect(r2.json().model_version).toBe('2');
    expect((await infer(app, 'versioned', inferBody(x), '/v2/models/versioned/versions/1/infer')).statusCode).toBe(404);
  });

  it.each(oracleCases().filter((c) => !c.request.h0))('agrees with PyTorch on $name', async (c) => {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/models',
      payload: { config: c.request.config, weights: c.request.weights },
    });
    const res = await infer(app, r.json().id, inferBody(c.request.x, { outputs: ['y', 'h'] }));
    expect(res.statusCode, res.body).toBe(200);
    const o = outputsOf(res.json());
    expect(maxRelErr(Float64Array.from(o.y.data), flat(c.expected.y))).toBeLessThan(1e-9);
    expect(maxRelErr(Float64Array.from(o.h.data), flat(c.expected.h))).toBeLessThan(1e-9);
  });

  it('appears in the OpenAPI document', async () => {
    const paths = Object.keys((await app.inject({ url: '/openapi.json' })).json().paths);
    expect(paths).toEqual(expect.arrayContaining(['/v2/models/{name}/infer', '/v2/health/ready']));
  });
});
