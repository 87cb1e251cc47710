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
