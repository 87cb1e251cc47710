// The compute routes through app.inject against the PyTorch cases, and the error contract for bad input.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';
import { flat, maxRelErr, oracleCases } from '../helpers/oracle.js';

let app: FastifyInstance;
beforeAll(async () => {
  app = await testApp();
});
afterAll(() => app.close());

const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });

describe.each(oracleCases())('POST /v1 on $name', (c) => {
  const model = { config: c.request.config, weights: c.request.weights };
  const common = { model, x: c.request.x, ...(c.request.h0 ? { h0: c.request.h0 } : {}) };

  it('forward returns y, hT, h and logits as PyTorch', async () => {
    const r = await post('/v1/forward', { ...common, include: ['h', 'logits'] });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(maxRelErr(flat(body.y), flat(c.expected.y))).toBeLessThan(1e-9);
    expect(maxRelErr(flat(body.h), flat(c.expected.h))).toBeLessThan(1e-9);
    expect(maxRelErr(flat(body.logits), flat(c.expected.logits))).toBeLessThan(1e-9);
  });

  it('bptt returns loss and grads as PyTorch', async () => {
    const r = await post('/v1/bptt', {
      ...common,
      targets: c.request.targets,
      ...(c.request.truncate ? { truncate: c.request.truncate } : {}),
      include: ['dh', 'dx', 'dh0'],
    });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(maxRelErr([body.loss], [c.expected.loss as number])).toBeLessThan(1e-9);
    for (const k of Object.keys(c.expected.grads ?? {}))
      expect(maxRelErr(flat(body.grads[k]), flat(c.expected.grads?.[k])), k).toBeLessThan(1e-9);
    if (c.expected.dx) expect(maxRelErr(flat(body.dx), flat(c.expected.dx))).toBeLessThan(1e-9);
  });
});
