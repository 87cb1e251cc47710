// Stored models: CRUD, compute on a stored model, and a restart on a real SQLite file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sheetModel, testApp } from '../helpers/app.js';
import { flat, maxRelErr, oracleCases } from '../helpers/oracle.js';

const sheet = oracleCases().find((c) => c.name === 'sheet-ex2-tanh')!;

describe('stored models', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(() => app.close());

  it('create, read, list, replace weights, compute, delete', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/v1/models',
      payload: { name: 'sheet', config: sheet.request.config, weights: sheet.request.weights },
    });
    expect(created.statusCode).toBe(201);
    const { id, version } = created.json();
    expect(created.headers.location).toBe(`/v1/models/${id}`);
    expect(version).toBe(1);

    // the weights come back as the state_dict: the same keys, shapes and bits that were sent
    const got = (await app.inject({ method: 'GET', url: `/v1/models/${id}` })).json();
    expect(Object.keys(got.weights)).toEqual(['U.weight', 'W.weight', 'W.bias', 'V.weight', 'V.bias']);
    expect(got.weights).toEqual(sheet.request.weights);
    expect((await app.inject({ method: 'GET', url: '/v1/models/sheet' })).json().id).toBe(id);

    const list = (await app.inject({ method: 'GET', url: '/v1/models?limit=10' })).json();
    expect(list.total).toBe(1);
    expect(list.models[0]).not.toHaveProperty('weights');

    const fw = await app.inject({
      method: 'POST',
      url: `/v1/models/${id}/forward`,
      payload: { x: sheet.request.x, include: ['h'] },
    });
    expect(fw.statusCode).toBe(200);
    expect(maxRelErr(flat(fw.json().h), flat(sheet.expected.h))).toBeLessThan(1e-9);
    const bp = await app.inject({
      method: 'POST',
      url: `/v1/models/sheet/bptt`,
      payload: { x: sheet.request.x, targets: sheet.request.targets },
    });
    expect(maxRelErr([bp.json().loss], [sheet.expected.loss as number])).toBeLessThan(1e-9);

    // bodies for a stored model are checked against its config, with the same paths
    const bad = await app.inject({ method: 'POST', url: `/v1/models/${id}/forward`, payload: { x: [[[1, 2]]] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues[0].path).toEqual(['x']);

    const zero = Object.fromEntries(
      Object.entries(sheet.request.weights).map(([k, v]) => [
        k,
        JSON.parse(JSON.stringify(v), (_k, n) => (typeof n === 'number' ? 0 : n)),
      ]),
    );
    const put = await app.inject({ method: 'PUT', url: `/v1/models/${id}/weights`, payload: zero });
    expect(put.statusCode).toBe(200);
    expect(put.json().version).toBe(2);
    const y = (
      await app.inject({ method: 'POST', url: `/v1/models/${id}/forward`, payload: { x: sheet.request.x } })
    ).json().y;
    expect(flat(y).every((v) => Math.abs(v - 1 / 3) < 1e-15)).toBe(true);
    const wrong = await app.inject({
      method: 'PUT',
      url: `/v1/models/${id}/weights`,
      payload: { ...zero, 'W.bias': [0] },
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().issues[0].path).toEqual(['W.bias']);

    expect((await app.inject({ method: 'DELETE', url: `/v1/models/${id}` })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: `/v1/models/${id}` })).statusCode).toBe(404);
  });

  it('names are unique and may not look like ids', async () => {
    const a = await app.inject({ method: 'POST', url: '/v1/models', payload: { name: 'twin', ...sheetModel } });
    expect(a.statusCode).toBe(201);
    const b = await app.inject({ method: 'POST', url: '/v1/models', payload: { name: 'twin', ...sheetModel } });
    expect(b.statusCode).toBe(409);
    const c = await app.inject({
      method: 'POST',
      url: '/v1/models',
      payload: { name: '0b4e7f3c-1d2a-4c5b-8e9f-0a1b2c3d4e5f', ...sheetModel },
    });
    expect(c.statusCode).toBe(400);
    expect(c.json().issues[0].path).toEqual(['name']);
  });
});

describe('a restart', () => {
  it('keeps stored models in the SQLite file under UNROLL_DATA_DIR', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unroll-restart-'));
    try {
      const first = await testApp({ dataDir });
      const created = (
        await first.inject({ method: 'POST', url: '/v1/models', payload: { name: 'kept', ...sheetModel } })
      ).json();
      await first.close();

      const second = await testApp({ dataDir });
      const got = await second.inject({ method: 'GET', url: '/v1/models/kept' });
      expect(got.statusCode).toBe(200);
      expect(got.json().id).toBe(created.id);
      expect(got.json().weights).toEqual(created.weights);
      await second.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
