// Each backend's three products against a naive triple loop, on strided views and edge sizes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/init.js';
import { BACKENDS } from '../helpers/backends.js';

type Op = 'gemmNT' | 'gemmNN' | 'gemmTN';

/** C(M,N) += op(A)·op(B) with (i, k) of A at A[aOff + i·lda + k] (or its transpose), the slow way. */
function naive(
  op: Op,
  M: number,
  N: number,
  K: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  B: Float64Array,
  bOff: number,
  ldb: number,
  C: Float64Array,
  cOff: number,
  ldc: number,
) {
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const a = op === 'gemmTN' ? A[aOff + k * lda + i] : A[aOff + i * lda + k];
        const b = op === 'gemmNT' ? B[bOff + j * ldb + k] : B[bOff + k * ldb + j];
        s += a * b;
      }
      C[cOff + i * ldc + j] += s;
    }
}

describe.each(BACKENDS)('kernels $name', (K) => {
  it.each<Op>(['gemmNT', 'gemmNN', 'gemmTN'])('%s matches the naive product on strided views', (op) => {
    fc.assert(
      fc.property(
        fc.record({
          M: fc.integer({ min: 1, max: 19 }),
          N: fc.integer({ min: 1, max: 19 }),
          K: fc.integer({ min: 1, max: 19 }),
          pad: fc.integer({ min: 0, max: 5 }),
          off: fc.integer({ min: 0, max: 7 }),
          seed: fc.nat(),
        }),
        ({ M, N, K: Kd, pad, off, seed }) => {
          const rng = new Rng(seed);
          const aRows = op === 'gemmTN' ? Kd : M;
          const aCols = op === 'gemmTN' ? M : Kd;
          const bRows = op === 'gemmNT' ? N : Kd;
          const bCols = op === 'gemmNT' ? Kd : N;
          const lda = aCols + pad;
          const ldb = bCols + pad;
          const ldc = N + pad;
          const [A, B, C] = K.alloc([off + aRows * lda, off + bRows * ldb, off + M * ldc]);
          try {
            for (const a of [A, B, C]) for (let i = 0; i < a.length; i++) a[i] = rng.normal();
            const want = C.slice();
            naive(op, M, N, Kd, A, off, lda, B, off, ldb, want, off, ldc);
            K[op](M, N, Kd, A, off, lda, B, off, ldb, C, off, ldc);
            for (let i = 0; i < want.length; i++)
              expect(Math.abs(C[i] - want[i])).toBeLessThan(1e-12 * (1 + Math.abs(want[i])));
          } finally {
            K.release([A, B, C]);
          }
        },
      ),
      { seed: 11, numRuns: 200 },
    );
  });

  it('hands out zero-filled buffers of the asked lengths', () => {
    const bufs = K.alloc([3, 0, 1000]);
    expect(bufs.map((b) => b.length)).toEqual([3, 0, 1000]);
    expect(bufs.every((b) => b.every((v) => v === 0))).toBe(true);
    K.release(bufs);
  });
});

// backends with their own tanh (vectorized in wasm) against Math.tanh
describe.each(BACKENDS.filter((k) => k.tanh))('tanh of $name', (K) => {
  it('agrees with Math.tanh to 1e-12 relative, on strided views, with NaN and ±Infinity', () => {
    const special = [
      0,
      -0,
      1e-300,
      -5e-324,
      1e-8,
      9.99e-4,
      1e-3,
      -1.0001e-3,
      0.25,
      -0.5,
      1,
      3.7,
      18.9,
      19.5,
      -20,
      700,
      Infinity,
      -Infinity,
      Number.NaN,
    ];
    const rng = new Rng(5);
    const values = [...special, ...Array.from({ length: 5000 }, () => rng.normal() * 10 ** rng.uniform(-4, 1.5))];
    const cols = 7;
    const ld = 9;
    const rows = Math.ceil(values.length / cols);
    const [A] = K.alloc([rows * ld]);
    try {
      values.forEach((v, i) => {
        A[Math.floor(i / cols) * ld + (i % cols)] = v;
      });
      const padding = A[cols]; // between rows: must not be touched
      K.tanh!(A, 0, ld, rows, cols);
      expect(A[cols]).toBe(padding);
      values.forEach((v, i) => {
        const got = A[Math.floor(i / cols) * ld + (i % cols)];
        const want = Math.tanh(v);
        if (Number.isNaN(want)) expect(got).toBeNaN();
        else if (want === 0) expect(Object.is(got, want)).toBe(true);
        else expect(Math.abs(got - want) / Math.abs(want), `tanh(${v})`).toBeLessThan(1e-12);
      });
    } finally {
      K.release([A]);
    }
  });
});
