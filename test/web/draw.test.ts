// What the page draws, checked without a browser: colour tables, heatmap pixels, and the network drawing.
import { describe, expect, it } from 'vitest';
import { diverging, LUT_SIZE, lut, lutIndex, viridis } from '../../public/js/colormap.js';
import { History } from '../../public/js/history.js';
import { folded, legend, type SvgNode, shownSteps, unrolled } from '../../public/js/network.js';
import { hiddenScale, logScale, paintMatrix, paintSteps } from '../../public/js/paint.js';

const rgb = (img: Uint8ClampedArray, px: number) => Array.from(img.subarray(px * 4, px * 4 + 4));
const entry = (table: Uint8ClampedArray, i: number) => [...Array.from(table.subarray(i * 3, i * 3 + 3)), 255];

describe('colour tables', () => {
  it('interpolate their stops end to end', () => {
    const t = lut([
      [0, 0, 0],
      [255, 255, 255],
    ]);
    expect(t.length).toBe(LUT_SIZE * 3);
    expect(Array.from(t.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(t.subarray(-3))).toEqual([255, 255, 255]);
    expect(viridis[0]).toBe(68); // viridis starts dark purple
    // the diverging table is white-ish in the middle, blue at the bottom, red at the top
    const mid = (LUT_SIZE - 1) >> 1;
    expect(Math.min(...diverging.subarray(mid * 3, mid * 3 + 3))).toBeGreaterThan(230);
    expect(diverging[2]).toBeGreaterThan(diverging[0]);
    expect(diverging[(LUT_SIZE - 1) * 3]).toBeGreaterThan(diverging[(LUT_SIZE - 1) * 3 + 2]);
  });

  it('map a value to an index, clamped at the ends', () => {
    expect(lutIndex(0, 0, 1)).toBe(0);
    expect(lutIndex(1, 0, 1)).toBe(LUT_SIZE - 1);
    expect(lutIndex(-5, 0, 1)).toBe(0);
    expect(lutIndex(5, 0, 1)).toBe(LUT_SIZE - 1);
    expect(lutIndex(0.5, 0, 1)).toBe(128);
    expect(lutIndex(3, 2, 2)).toBe(127); // an empty range: the middle
  });
});

describe('the dL/dh_t heatmap', () => {
  it('uses the range of log10 over positive finite norms', () => {
    expect(logScale(new Float64Array([1e-6, 1e-2, 10, 0, Number.NaN]))).toEqual({ lo: -6, hi: 1, log: true });
    expect(logScale(new Float64Array([]))).toEqual({ lo: -1, hi: 0, log: true });
    const flat = logScale(new Float64Array([0.1, 0.1]));
    expect(flat.hi - flat.lo).toBeCloseTo(1, 9);
  });

  it('paints one pixel row per timestep and columns by step, vanishing toward t = 0', () => {
    const T = 3;
    const h = new History({ width: T });
    h.push(0, [1e-4, 1e-2, 1]);
    h.push(1, [1e-3, 1e-1, 1]);
    const snap = h.snapshot();
    const cols = 4;
    const img = new Uint8ClampedArray(cols * T * 4);
    const scale = logScale(snap.values);
    const painted = paintSteps(img, cols, snap, 0, 1, scale, viridis);
    expect(painted).toBe(cols * T);
    // t = 0 at step 0 is the smallest norm: the bottom of the table; t = 2 the largest: the top
    expect(rgb(img, 0)).toEqual(entry(viridis, 0));
    expect(rgb(img, 2 * cols)).toEqual(entry(viridis, LUT_SIZE - 1));
    // the first half of the columns shows step 0, the second half step 1
    expect(rgb(img, 1)).toEqual(rgb(img, 0));
    expect(rgb(img, 3)).not.toEqual(rgb(img, 0));
  });

  it('leaves cells without a value transparent', () => {
    const h = new History({ width: 2 });
    h.push(5, [Number.NaN, 1]);
    const img = new Uint8ClampedArray(2 * 2 * 4);
    expect(paintSteps(img, 2, h.snapshot(), 5, 5, { lo: -1, hi: 1 }, viridis)).toBe(2);
    expect(rgb(img, 0)[3]).toBe(0); // t = 0 had no value
    expect(rgb(img, 2)[3]).toBe(255);
    // steps before the first row are not drawn either
    expect(paintSteps(img, 2, h.snapshot(), 0, 1, { lo: -1, hi: 1 }, viridis)).toBe(0);
  });
});

describe('the hidden-state heatmap', () => {
  it('puts tanh on [−1, 1] and relu on [0, max]', () => {
    expect(hiddenScale([0.2, 0.5], 'tanh')).toEqual({ lo: -1, hi: 1, signed: true });
    expect(hiddenScale([0, 3], 'relu')).toEqual({ lo: 0, hi: 3, signed: false });
    expect(hiddenScale([-0.1, 0.5], undefined).signed).toBe(true);
  });

  it('paints h[t][j] with t down and j across', () => {
    const h = [
      [-1, 0, 1],
      [1, 1, 1],
    ];
    const img = new Uint8ClampedArray(3 * 2 * 4);
    expect(paintMatrix(img, h, { lo: -1, hi: 1 }, diverging)).toBe(6);
    expect(rgb(img, 0)).toEqual(entry(diverging, 0));
    expect(rgb(img, 2)).toEqual(entry(diverging, LUT_SIZE - 1));
    expect(rgb(img, 3)).toEqual(rgb(img, 2));
  });
});

const all = (n: SvgNode): SvgNode[] => [n, ...(n.children ?? []).flatMap(all)];
const texts = (n: SvgNode) => all(n).filter((c) => c.tag === 'text');
const textOf = (n: SvgNode): string => n.text ?? (n.children ?? []).map(textOf).join('');
const nodes = (n: SvgNode, kind: string) =>
  all(n).filter((c) => c.tag === 'g' && String(c.attrs?.class).split(' ').includes(kind));
const arrows = (n: SvgNode, w: string) =>
  all(n).filter(
    (c) =>
      String(c.attrs?.class ?? '')
        .split(' ')
        .includes(w) && c.tag !== 'text',
  );

describe('the network drawing', () => {
  it('unrolls the sheet’s T = 3 network: x_t → h_t with U, h_{t−1} → h_t with W, h_2 → y_2 with V', () => {
    const { tree, steps } = unrolled({ T: 3, d: 7, H: 10, C: 3, readout: 'last' });
    expect(steps).toEqual([0, 1, 2]);
    expect(nodes(tree, 'x').map(textOf)).toEqual(['x0', 'x1', 'x2']);
    expect(nodes(tree, 'h').map(textOf)).toEqual(['h0', 'h1', 'h2']);
    expect(nodes(tree, 'y').map(textOf)).toEqual(['y2']);
    expect(arrows(tree, 'U')).toHaveLength(3);
    expect(arrows(tree, 'W')).toHaveLength(3); // from h_{−1} = 0 too
    expect(arrows(tree, 'V')).toHaveLength(1);
    expect(
      texts(tree)
        .filter((t) => t.attrs?.class === 'weight')
        .map(textOf)
        .sort(),
    ).toEqual(['U', 'U', 'U', 'V', 'W', 'W', 'W'].sort());
  });

  it('draws a prediction at every step for readout "all"', () => {
    const { tree } = unrolled({ T: 4, readout: 'all' });
    expect(nodes(tree, 'y')).toHaveLength(4);
    expect(arrows(tree, 'V')).toHaveLength(4);
  });

  it('draws a window with an ellipsis when T is large, labelled with the true indices', () => {
    expect(shownSteps(6)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(shownSteps(200)).toEqual([0, 1, 2, null, 198, 199]);
    const { tree } = unrolled({ T: 200 });
    expect(nodes(tree, 'h').map(textOf)).toEqual(['h0', 'h1', 'h2', 'h198', 'h199']);
    expect(nodes(tree, 'h').map((n) => n.attrs?.['data-t'])).toEqual([0, 1, 2, 198, 199]);
    expect(texts(tree).some((t) => t.text === '⋯')).toBe(true);
    expect(nodes(tree, 'y').map(textOf)).toEqual(['y199']);
  });

  it('gives each drawing its own arrowhead id', () => {
    const a = JSON.stringify(unrolled({ T: 2 }, 'a').tree);
    const f = JSON.stringify(folded('f'));
    expect(a).toContain('url(#a-arrow)');
    expect(f).toContain('url(#f-arrow)');
    expect(f).not.toContain('a-arrow');
  });

  it('states the equations and shapes under the drawing', () => {
    const [eq, shapes] = legend({ T: 13, d: 7, H: 10, C: 3, activation: 'relu' });
    expect(eq).toContain('h_t = relu(U x_t + W h_{t−1} + b_W)');
    expect(eq).toContain('h_12');
    expect(shapes).toContain('U: 10×7');
    expect(shapes).toContain('V: 3×10');
    expect(legend({ T: 2 })[1]).toContain('U: ?×?');
  });
});
