// Tensors on the wire are nested JSON arrays; inside they are row-major Float64Arrays with a shape.
// One zod codec does both directions: decode validates and packs in a single pass (packNested),
// naming the index path of the first bad element; encode writes nested arrays for the response.
import { z } from 'zod';
import { packNested, toNested } from '../core/tensor.js';

/** Row-major data with its shape: what a decoded request tensor is, and what a response tensor must be. */
export interface TensorData {
  readonly data: Float64Array;
  readonly shape: readonly number[];
}

export class Tensor implements TensorData {
  constructor(
    readonly data: Float64Array,
    readonly shape: readonly number[],
  ) {}
}

// results come back from pool workers as plain objects (structured clone drops the class), so the
// encoding side accepts any {data: Float64Array, shape}
const isTensorData = (v: unknown): v is TensorData =>
  typeof v === 'object' &&
  v !== null &&
  (v as TensorData).data instanceof Float64Array &&
  Array.isArray((v as TensorData).shape);

/** JSON Schema of a nested array of numbers of a given rank (what OpenAPI and schemas/ show). */
function nestedJsonSchema(rank: number, integer: boolean): Record<string, unknown> {
  let s: Record<string, unknown> = { type: integer ? 'integer' : 'number' };
  for (let i = 0; i < rank; i++) s = { type: 'array', items: s, minItems: 1 };
  return s;
}

function codec(ranks: readonly number[], integer: boolean, description: string) {
  return z
    .codec(z.unknown(), z.custom<TensorData>(isTensorData, 'expected a tensor'), {
      decode: (value, payload) => {
        // the rank is the nesting depth of the first element (for fields that take more than one rank)
        let depth = 0;
        for (let v: unknown = value; Array.isArray(v) && v.length > 0; v = v[0]) depth++;
        const rank = ranks.includes(depth) ? depth : ranks[ranks.length - 1];
        const r = packNested(value, rank, integer);
        if (r.ok) return new Tensor(r.data, r.shape);
        payload.issues.push({ code: 'custom', message: r.message, path: r.path, input: value });
        return new Tensor(new Float64Array(0), []);
      },
      encode: (t) => toNested(t.data, t.shape) as unknown,
    })
    .meta(
      ranks.length === 1
        ? { ...nestedJsonSchema(ranks[0], integer), description }
        : { anyOf: ranks.map((r) => nestedJsonSchema(r, integer)), description },
    );
}

/** A tensor of finite numbers, nested `rank` deep. */
export const tensor = (rank: number, description: string) => codec([rank], false, description);
/** A tensor of one of several ranks (y is (B, C) or (B, T, C) by readout). */
export const tensorOfRanks = (ranks: readonly number[], description: string) => codec(ranks, false, description);
/** Class indices: integers, of one of the given ranks. */
export const indexTensor = (ranks: readonly number[], description: string) => codec(ranks, true, description);
