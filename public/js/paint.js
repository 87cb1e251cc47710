// The heatmaps' pixels, computed without a DOM: each cell's colour from a lookup table, written into an
// RGBA buffer that the canvas code hands to putImageData. Exact: one cell per value, no interpolation.
import { lutIndex } from './colormap.js';
import { rowAt } from './history.js';

/** Cells with no value are left transparent (alpha 0) so the card's background shows through. */
const OPAQUE = 255;

/**
 * @typedef {object} Scale
 * @property {number} lo value at the bottom of the table
 * @property {number} hi value at the top
 * @property {boolean} [log] the table spans log10 of the value
 */

/**
 * The range of log10 ‖dL/dh_t‖ over every stored value that is positive and finite.
 * @param {Float64Array} values @returns {Scale}
 */
export function logScale(values) {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (!(v > 0) || !Number.isFinite(v)) continue;
    const l = Math.log10(v);
    if (l < lo) lo = l;
    if (l > hi) hi = l;
  }
  if (lo > hi) return { lo: -1, hi: 0, log: true };
  // a flat profile still gets a visible range, one decade wide
  if (hi - lo < 1e-9) return { lo: lo - 0.5, hi: hi + 0.5, log: true };
  return { lo, hi, log: true };
}

/**
 * The hidden state's scale: tanh lives on [−1, 1], so that is the scale (saturation shows as full colour);
 * relu's is [0, max]. Without a known activation, a negative value means tanh.
 * @param {ArrayLike<number>} values @param {string | undefined} activation @returns {Scale & {signed: boolean}}
 */
export function hiddenScale(values, activation) {
  let min = 0;
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const tanh = activation ? activation === 'tanh' : min < 0;
  if (tanh) return { lo: -1, hi: 1, signed: true };
  return { lo: 0, hi: max > 0 ? max : 1, signed: false };
}

/**
 * Paints the dL/dh_t history: `cols` pixel columns spread evenly over steps s0 to s1 inclusive (step s
 * spans [s, s + 1) of the axis), one pixel row per timestep t (t = 0 on top). Each column shows the stored
 * row that covers its step.
 * @param {Uint8ClampedArray} img cols × T × 4
 * @param {number} cols
 * @param {import('./history.js').Snapshot} snap rows of width T
 * @param {number} s0 @param {number} s1
 * @param {Scale} scale on log10
 * @param {Uint8ClampedArray} table
 * @returns {number} cells painted
 */
export function paintSteps(img, cols, snap, s0, s1, scale, table) {
  const T = snap.width;
  img.fill(0);
  let painted = 0;
  for (let px = 0; px < cols; px++) {
    const s = s0 + ((px + 0.5) / cols) * (s1 + 1 - s0);
    const r = rowAt(snap.lo, snap.rows, s);
    if (r < 0) continue;
    for (let t = 0; t < T; t++) {
      const v = snap.values[r * T + t];
      if (Number.isNaN(v)) continue;
      const i = v > 0 ? lutIndex(Math.log10(v), scale.lo, scale.hi) : 0;
      put(img, (t * cols + px) * 4, table, i);
      painted++;
    }
  }
  return painted;
}

/**
 * Paints a (rows × cols) matrix, one pixel per entry: the hidden state h[t][j] with t down and j across.
 * @param {Uint8ClampedArray} img cols × rows × 4
 * @param {ArrayLike<ArrayLike<number>>} m
 * @param {Scale} scale
 * @param {Uint8ClampedArray} table
 */
export function paintMatrix(img, m, scale, table) {
  const rows = m.length;
  const cols = rows ? m[0].length : 0;
  img.fill(0);
  let painted = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = m[r][c];
      if (typeof v !== 'number' || Number.isNaN(v)) continue;
      put(img, (r * cols + c) * 4, table, lutIndex(v, scale.lo, scale.hi));
      painted++;
    }
  }
  return painted;
}

/** @param {Uint8ClampedArray} img @param {number} at @param {Uint8ClampedArray} table @param {number} i */
function put(img, at, table, i) {
  img[at] = table[i * 3];
  img[at + 1] = table[i * 3 + 1];
  img[at + 2] = table[i * 3 + 2];
  img[at + 3] = OPAQUE;
}
