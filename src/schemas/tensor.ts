// Tensors on the wire are nested JSON arrays; inside they are row-major Float64Arrays with a shape.
// One zod codec does both directions: decode validates and packs in a single pass (packNested),
// naming the index path of the first bad element; encode writes nested arrays for the response.
// A failure says what was received and what was expected: `x is (13, 7); expected (B, T, d)`.
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

/** `(13, 7)`, the way every message writes a shape. */
export const fmtShape = (shape: readonly (number | string)[]): string => `(${shape.join(', ')})`;

/** What a value looks like as a tensor: the lengths along its first elements, or the type of a non-array. */
export function describeReceived(value: unknown): string {
  if (!Array.isArray(value))
    return value === undefined ? 'missing' : `${value === null ? 'null' : typeof value}, not a nested list`;
  const shape: number[] = [];
  for (let v: unknown = value; Array.isArray(v); v = v[0]) {
    shape.push(v.length);
    if (v.length === 0) break;
  }
  return fmtShape(shape);
}

/** The received shape of a well-nested value (lengths along the first elements), or null. */
export function receivedShape(value: unknown): number[] | null {
  if (!Array.isArray(value)) return null;
  const shape: number[] = [];
  for (let v: unknown = value; Array.isArray(v); v = v[0]) shape.push(v.length);
  return shape;
}

const index = (path: readonly number[]) => path.map((i) => `[${i}]`).join('');

/** The axes a description names: '(B, T, d), batch first' → '(B, T, d)'; '(B) for …, (B, T) for …' → '(B) or (B, T)'. */
function axesOf(description: string, ranks: readonly number[]): string {
  const groups = description.match(/\([^)]*\)/g) ?? [];
  if (groups.length === 0) return `a nested list of rank ${ranks.join(' or ')}`;
  return groups.slice(0, ranks.length).join(' or ');
}

export interface TensorIssue {
  path: number[];
  message: string;
  /** what a caller with more context (the config) needs to say more: the received lengths */
  received?: number[];
}

export interface TensorSpec {
  ranks: readonly number[];
  integer?: boolean;
  /** the field's name in messages (`x`, `U.weight`) */
  name?: string;
  /** the expected axes, `(B, T, d)` */
  axes: string;
  /** a question to add when the rank is wrong (`is the batch axis missing?`), from the received lengths */
  hint?: (received: number[]) => string | undefined;
}

/** Packs one tensor or says, in a sentence, what was received and what was expected. */
export function packTensor(
  value: unknown,
  spec: TensorSpec,
): { ok: true; tensor: Tensor } | ({ ok: false } & TensorIssue) {
  const name = spec.name ?? 'the tensor';
  if (value === undefined) return { ok: false, path: [], message: `${name} is missing; expected ${spec.axes}` };
  // the rank is the nesting depth of the first element (for fields that take more than one rank)
  let depth = 0;
  for (let v: unknown = value; Array.isArray(v) && v.length > 0; v = v[0]) depth++;
  const rank = spec.ranks.includes(depth) ? depth : spec.ranks[spec.ranks.length - 1];
  const r = packNested(value, rank, spec.integer);
  if (r.ok) return { ok: true, tensor: new Tensor(r.data, r.shape) };
  const received = receivedShape(value);
  if (received?.includes(0))
    return {
      ok: false,
      path: r.path,
      message: `${name} is ${fmtShape(received)}; expected ${spec.axes}, every axis at least 1 long`,
    };
  if (received && !spec.ranks.includes(received.length)) {
    const hint = spec.hint?.(received);
    return {
      ok: false,
      path: r.path,
      received,
      message: `${name} is ${fmtShape(received)}; expected ${spec.axes}${hint ? `: ${hint}` : ''}`,
    };
  }
  if (!received)
    return { ok: false, path: r.path, message: `${name} is ${describeReceived(value)}; expected ${spec.axes}` };
  // ragged, or an element that is not a (finite, integer) number: the core's message at its index
  return { ok: false, path: r.path, message: `${name}${index(r.path)}: ${r.message}` };
}

/** JSON Schema of a nested array of numbers of a given rank (what OpenAPI and schemas/ show). */
export function nestedJsonSchema(rank: number, integer: boolean): Record<string, unknown> {
  let s: Record<string, unknown> = { type: integer ? 'integer' : 'number' };
  for (let i = 0; i < rank; i++) s = { type: 'array', items: s, minItems: 1 };
  return s;
}

export interface TensorOptions {
  name?: string;
  hint?: TensorSpec['hint'];
}

function codec(ranks: readonly number[], integer: boolean, description: string, opts: TensorOptions = {}) {
  const spec: TensorSpec = { ranks, integer, axes: axesOf(description, ranks), ...opts };
  return z
    .codec(z.unknown(), z.custom<TensorData>(isTensorData, 'expected a tensor'), {
      decode: (value, payload) => {
        const r = packTensor(value, spec);
        if (r.ok) return r.tensor;
        payload.issues.push({
          code: 'custom',
          message: r.message,
          path: r.path,
          input: value,
          ...(r.received ? { params: { received: r.received } } : {}),
        });
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
export const tensor = (rank: number, description: string, opts?: TensorOptions) =>
  codec([rank], false, description, opts);
/** A tensor of one of several ranks (y is (B, C) or (B, T, C) by readout). */
export const tensorOfRanks = (ranks: readonly number[], description: string, opts?: TensorOptions) =>
  codec(ranks, false, description, opts);
/** Class indices: integers, of one of the given ranks. */
export const indexTensor = (ranks: readonly number[], description: string, opts?: TensorOptions) =>
  codec(ranks, true, description, opts);
