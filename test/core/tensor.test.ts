// packNested: round trips with toNested, and any single flaw is reported at its own index path.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packNested, toNested } from '../../src/core/tensor.js';

const shapes = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 });

describe('packNested', () => {
  it('round-trips any shape', () => {
    fc.assert(
      fc.property(shapes, fc.nat(), (shape, seed) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const data = Float64Array.from({ length: n }, (_, i) => Math.sin(seed + i));
        const r = packNested(toNested(data, shape), shape.length);
        expect(r).toEqual({ ok: true, data, shape });
      }),
      { seed: 1, numRuns: 200 },
    );
  });

  it('names the first flaw: a bad element, a wrong length, or a non-array', () => {
    fc.assert(
      fc.property(
        shapes,
        fc.nat(),
        fc.constantFrom('string', 'nan', 'short', 'scalar', 'fraction'),
        (shape, at, kind) => {
          const n = shape.reduce((a, b) => a * b, 1);
          const nested = toNested(new Float64Array(n).fill(1), shape) as unknown[];
          // walk to a random element's parent array
          const path: number[] = [];
          let parent = nested;
          for (let d = 0; d < shape.length - 1; d++) {
            const i = (at >> d) % shape[d];
            path.push(i);
            parent = parent[i] as unknown[];
          }
          const last = at % shape[shape.length - 1];
          // the first array at each depth defines the lengths, so a change of length is made elsewhere
          const inner = shape.length > 1 && path.some((i) => i > 0);
          if ((kind === 'short' || kind === 'scalar') && inner) {
            const grand = path.slice(0, -1).reduce<unknown[]>((a, i) => a[i] as unknown[], nested);
            if (kind === 'short') (grand[path[path.length - 1]] as unknown[]).pop();
            else grand[path[path.length - 1]] = 3;
            expect(packNested(nested, shape.length)).toMatchObject({ ok: false, path });
            return;
          }
          parent[last] =
            kind === 'string'
              ? 'x'
              : kind === 'nan'
                ? Number.NaN
                : kind === 'fraction'
                  ? 0.5
                  : Number.POSITIVE_INFINITY;
          const r = packNested(nested, shape.length, kind === 'fraction');
          expect(r).toMatchObject({ ok: false, path: [...path, last] });
        },
      ),
      { seed: 2, numRuns: 300 },
    );
  });

  it('refuses empty arrays and too-shallow nesting at the top', () => {
    expect(packNested([], 2)).toMatchObject({ ok: false, path: [] });
    expect(packNested([1, 2], 2)).toMatchObject({ ok: false, path: [0] });
    expect(packNested([[1], [2, 3]], 2)).toMatchObject({
      ok: false,
      path: [1],
      message: expect.stringContaining('length 1'),
    });
  });
});
