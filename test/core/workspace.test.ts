// The core's time-major buffers: the reordering at the workspace boundary and the batch-first error index.
import { describe, expect, it } from 'vitest';
import { NonFiniteError } from '../../src/core/errors.js';
import { assertFiniteTimeMajor, reorder } from '../../src/core/workspace.js';

describe('workspace layout', () => {
  it('reorder swaps batch first (B, T, w) and time major (T, B, w), and back', () => {
    const [B, T, w] = [2, 3, 2];
    const bf = Float64Array.from({ length: B * T * w }, (_, i) => i);
    const tm = new Float64Array(bf.length);
    reorder(bf, tm, B, T, w);
    // time major row t·B + b holds batch-first row b·T + t
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++)
        for (let i = 0; i < w; i++) expect(tm[(t * B + b) * w + i]).toBe(bf[(b * T + t) * w + i]);
    const back = new Float64Array(bf.length);
    reorder(tm, back, T, B, w);
    expect(back).toEqual(bf);
  });

  it('names the first non-finite element in batch-first order [b, t, i]', () => {
    const [B, T, w] = [2, 3, 2];
    const tm = new Float64Array(B * T * w);
    tm[(0 * B + 1) * w + 1] = Number.NaN; // b = 1, t = 0: first in memory
    tm[(2 * B + 0) * w + 0] = Number.POSITIVE_INFINITY; // b = 0, t = 2: first in batch-first order
    const err = (() => {
      try {
        assertFiniteTimeMajor('dh', tm, B, T, w);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(err).toMatchObject({ tensor: 'dh', index: [0, 2, 0] });
    expect(() => assertFiniteTimeMajor('dh', new Float64Array(B * T * w), B, T, w)).not.toThrow();
  });
});
