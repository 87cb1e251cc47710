// Colour scales for the heatmaps as 256-entry RGB lookup tables: viridis (sequential, perceptually even,
// readable in greyscale) for gradient norms, and a blue–white–red diverging scale for signed hidden states.

export const LUT_SIZE = 256;

/** viridis at 9 evenly spaced stops (matplotlib's values, rounded to 8 bits). */
const VIRIDIS = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** ColorBrewer RdBu, reversed so that negative is blue and positive red, with white at zero. */
const DIVERGING = [
  [33, 102, 172],
  [103, 169, 207],
  [209, 229, 240],
  [247, 247, 247],
  [253, 219, 199],
  [239, 138, 98],
  [178, 24, 43],
];

/** @param {number[][]} stops @returns {Uint8ClampedArray} LUT_SIZE × RGB */
export function lut(stops) {
  const out = new Uint8ClampedArray(LUT_SIZE * 3);
  const last = stops.length - 1;
  for (let i = 0; i < LUT_SIZE; i++) {
    const u = (i / (LUT_SIZE - 1)) * last;
    const k = Math.min(last - 1, Math.floor(u));
    const f = u - k;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(stops[k][c] * (1 - f) + stops[k + 1][c] * f);
  }
  return out;
}

export const viridis = lut(VIRIDIS);
export const diverging = lut(DIVERGING);

/** The index into a LUT of a value on [lo, hi]; outside, the nearest end. @param {number} v @param {number} lo @param {number} hi */
export function lutIndex(v, lo, hi) {
  if (!(hi > lo)) return (LUT_SIZE - 1) >> 1;
  const u = (v - lo) / (hi - lo);
  return Math.max(0, Math.min(LUT_SIZE - 1, Math.round(u * (LUT_SIZE - 1))));
}

/** A CSS colour for a LUT entry. @param {Uint8ClampedArray} table @param {number} i */
export function css(table, i) {
  return `rgb(${table[i * 3]}, ${table[i * 3 + 1]}, ${table[i * 3 + 2]})`;
}
