// Helpers for the /v2 tests: store a model, build an infer body, post it, and read outputs back.
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';

export interface ModelOpts {
  name?: string;
  d?: number;
  H?: number;
  C?: number;
  readout?: 'last' | 'all';
  activation?: 'tanh' | 'relu';
  seed?: number;
}

/** Stores a model (init from a seed) and returns its id. */
export async function storeModel(app: FastifyInstance, o: ModelOpts = {}): Promise<string> {
  const r = await app.inject({
    method: 'POST',
    url: '/v1/models',
    payload: {
      ...(o.name ? { name: o.name } : {}),
      config: {
        inputSize: o.d ?? 3,
        hiddenSize: o.H ?? 5,
        outputSize: o.C ?? 4,
        readout: o.readout ?? 'last',
        activation: o.activation ?? 'tanh',
      },
      init: { seed: o.seed ?? 7 },
    },
  });
  expect(r.statusCode, r.body).toBe(201);
  return r.json().id;
}

/** A deterministic x (B, T, d) as nested arrays, with values of both signs. */
export function makeX(B: number, T: number, d: number, seed = 1): number[][][] {
  let s = seed;
  const next = () => {
    s = (s * 16807) % 2147483647;
    return (s / 2147483647) * 2 - 1;
  };
  return Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: d }, next)));
}

/** x[:, from:to] */
export const sliceT = (x: number[][][], from: number, to: number) => x.map((row) => row.slice(from, to));

export function inferBody(
  x: number[][][],
  extra: {
    datatype?: string;
    flat?: boolean;
    outputs?: string[];
    parameters?: Record<string, unknown>;
    id?: string;
  } = {},
) {
  const shape = [x.length, x[0].length, x[0][0].length];
  return {
    ...(extra.id !== undefined ? { id: extra.id } : {}),
    ...(extra.parameters ? { parameters: extra.parameters } : {}),
    inputs: [{ name: 'x', shape, datatype: extra.datatype ?? 'FP64', data: extra.flat ? x.flat(2) : x }],
    ...(extra.outputs ? { outputs: extra.outputs.map((name) => ({ name })) } : {}),
  };
}

export const infer = (app: FastifyInstance, model: string, payload: unknown, url = `/v2/models/${model}/infer`) =>
  app.inject({ method: 'POST', url, payload: payload as object });

export interface V2Output {
  name: string;
  shape: number[];
  datatype: string;
  data: number[];
}

/** The outputs of a 200 response by name. */
export function outputsOf(body: { outputs: V2Output[] }): Record<string, V2Output> {
  return Object.fromEntries(body.outputs.map((o) => [o.name, o]));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
