// Row-major Float64Array tensors: shapes, nested-array conversion, and the non-finite check.
import { NonFiniteError, ShapeError } from './errors.js';

export type Shape = readonly number[];
export type Nested = number | Nested[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

export function assertLength(name: string, a: ArrayLike<number>, shape: Shape): void {
  if (a.length !== numel(shape)) {
    throw new ShapeError(`${name} has ${a.length} elements, expected shape (${shape.join(', ')}) = ${numel(shape)}`, [
      name,
    ]);
  }
}

/** The multi-index of flat position `flat` in `shape`. */
export function unravel(flat: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % shape[i];
    flat = Math.floor(flat / shape[i]);
  }
  return idx;
}

/** Flat row-major data into nested arrays of `shape` (what JSON and torch.tensor() read). */
export function toNested(data: ArrayLike<number>, shape: Shape): Nested {
  if (shape.length === 0) return data[0];
  let pos = 0;
  const build = (dim: number): Nested[] => {
    const n = shape[dim];
    const out = new Array<Nested>(n);
    if (dim === shape.length - 1) {
      for (let i = 0; i < n; i++) out[i] = data[pos++];
    } else {
      for (let i = 0; i < n; i++) out[i] = build(dim + 1);
    }
    return out;
  };
  return build(0);
}

/** Nested arrays of a known shape into a Float64Array; throws ShapeError with the path of the first mismatch. */
export function fromNested(value: unknown, shape: Shape, name = 'tensor'): Float64Array {
  const out = new Float64Array(numel(shape));
  let pos = 0;
  const path: (string | number)[] = [name];
  const walk = (v: unknown, dim: number): void => {
    if (dim === shape.length) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new ShapeError('expected a finite number', [...path]);
      out[pos++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) {
      throw new ShapeError(`expected an array of length ${shape[dim]}`, [...path]);
    }
    for (let i = 0; i < v.length; i++) {
      path.push(i);
      walk(v[i], dim + 1);
      path.pop();
    }
  };
  walk(value, 0);
  return out;
}

/** Throws NonFiniteError naming the first non-finite element of `data`, viewed with `shape`. */
export function assertFinite(name: string, data: Float64Array, shape: Shape): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    // v - v is 0 for finite v and NaN for ±Infinity and NaN: one comparison, no call.
    if (v - v !== 0) throw new NonFiniteError(name, unravel(i, shape), v);
  }
}

export type Packed = { ok: true; data: Float64Array; shape: number[] } | { ok: false; path: number[]; message: string };

/**
 * Nested arrays of any lengths into row-major data, in one pass: the lengths are read off the first
 * element at each depth, and the first element that breaks them (or is not a finite number, or not
 * an integer when `integer`) is reported by its index path. This is what validates request tensors:
 * a few ns per element, where a schema library's per-element checks cost ten times more.
 */
export function packNested(value: unknown, rank: number, integer = false): Packed {
  const shape: number[] = [];
  let probe: unknown = value;
  for (let dim = 0; dim < rank; dim++) {
    if (!Array.isArray(probe))
      return { ok: false, path: new Array(dim).fill(0), message: `expected a nested array of rank ${rank}` };
    if (probe.length === 0) return { ok: false, path: new Array(dim).fill(0), message: 'expected a non-empty array' };
    shape.push(probe.length);
    probe = probe[0];
  }
  const data = new Float64Array(numel(shape));
  const end = fill(value, 0, shape, data, 0, integer);
  if (end === data.length) return { ok: true, data, shape };
  // the fast pass only says that something is wrong; a second, slow pass says where and what
  return { ok: false, ...locate(value, shape, integer) };
}

/** Copies a well-formed nested array into data from pos; returns the next position, or −1 at the first flaw. */
function fill(v: unknown, dim: number, shape: number[], data: Float64Array, pos: number, integer: boolean): number {
  const n = shape[dim];
  if (!Array.isArray(v) || v.length !== n) return -1;
  if (dim === shape.length - 1) {
    for (let i = 0; i < n; i++) {
      const x = v[i];
      // x − x is 0 for finite numbers, NaN for ±Infinity and NaN
      if (typeof x !== 'number' || x - x !== 0 || (integer && Math.floor(x) !== x)) return -1;
      data[pos++] = x;
    }
    return pos;
  }
  for (let i = 0; i < n; i++) {
    pos = fill(v[i], dim + 1, shape, data, pos, integer);
    if (pos < 0) return -1;
  }
  return pos;
}

function locate(
  v: unknown,
  shape: number[],
  integer: boolean,
  dim = 0,
  path: number[] = [],
): { path: number[]; message: string } {
  if (!Array.isArray(v) || v.length !== shape[dim]) {
    const got = Array.isArray(v) ? `, got length ${v.length}` : `, got ${describe(v)}`;
    return { path, message: `expected an array of length ${shape[dim]} (as the first one at this depth)${got}` };
  }
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (dim === shape.length - 1) {
      if (typeof x !== 'number') return { path: [...path, i], message: `expected a number, got ${describe(x)}` };
      if (!Number.isFinite(x)) return { path: [...path, i], message: `expected a finite number, got ${x}` };
      if (integer && !Number.isInteger(x)) return { path: [...path, i], message: `expected an integer, got ${x}` };
    } else {
      const r = locate(x, shape, integer, dim + 1, [...path, i]);
      if (r.path.length) return r;
    }
  }
  return { path: [], message: '' };
}

function describe(x: unknown): string {
  return x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x;
}
