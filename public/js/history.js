// A bounded, downsampled history of per-step rows (a scalar series, or a dL/dh_t profile of T values): the
// latest points at full resolution, older ones merged into equal-width buckets whose width doubles whenever
// their number passes a cap, so 100k steps cost the same memory and drawing time as 3k.

/** @typedef {'mean' | 'max'} Reduce */

/**
 * @typedef {object} Snapshot
 * @property {number} rows    number of rows (buckets, then recent points), oldest first
 * @property {number} width   values per row
 * @property {Float64Array} x  a row's step: the mean step of its bucket
 * @property {Float64Array} lo first step a row covers
 * @property {Float64Array} hi last step a row covers
 * @property {Float64Array} values row-major (rows × width); NaN where nothing was recorded
 */

/** Recent points move into buckets this many at a time, so the recent arrays are spliced rarely. */
const AGE_CHUNK = 256;

export class History {
  /**
   * @param {object} opts
   * @param {number} opts.width values per row
   * @param {Reduce} [opts.reduce] how a bucket summarizes its points: their mean, or their max (keeps spikes)
   * @param {number} [opts.recent] latest points kept at full resolution
   * @param {number} [opts.buckets] most buckets for everything older; their width doubles beyond it
   */
  constructor({ width, reduce = 'mean', recent = 1024, buckets = 2048 }) {
    this.width = width;
    this.reduce = reduce;
    this.recentCap = recent;
    // an even cap, so that coarsening pairs every bucket
    this.bucketCap = Math.max(2, buckets - (buckets % 2));
    /** Points per finished bucket. */
    this.bucketWidth = 1;
    /** Points pushed so far. */
    this.count = 0;
    this.lastStep = Number.NEGATIVE_INFINITY;
    /** @type {number[]} */ this.bx = [];
    /** @type {number[]} */ this.blo = [];
    /** @type {number[]} */ this.bhi = [];
    /** @type {number[]} */ this.bv = []; // finished buckets, row-major
    this.partial = this.emptyPartial();
    /** @type {number[]} */ this.rx = [];
    /** @type {number[]} */ this.rv = []; // recent points, row-major
    /** @type {Snapshot | null} */ this.cache = null;
  }

  get rows() {
    return this.bx.length + (this.partial.n ? 1 : 0) + this.rx.length;
  }

  /**
   * Appends the row of one step. Steps are expected in increasing order; a step at or before the last one
   * (a replayed frame after a reconnect) is ignored, and so reported with false.
   * @param {number} step
   * @param {ArrayLike<number | null | undefined>} values
   */
  push(step, values) {
    if (!(step > this.lastStep)) return false;
    this.lastStep = step;
    this.count++;
    this.cache = null;
    this.rx.push(step);
    for (let i = 0; i < this.width; i++) {
      const v = values[i];
      this.rv.push(typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN);
    }
    if (this.rx.length >= this.recentCap + AGE_CHUNK) this.age(AGE_CHUNK);
    return true;
  }

  /** The rows, oldest first, as typed arrays; cached until the next push. @returns {Snapshot} */
  snapshot() {
    if (this.cache) return this.cache;
    const w = this.width;
    const rows = this.rows;
    const x = new Float64Array(rows);
    const lo = new Float64Array(rows);
    const hi = new Float64Array(rows);
    const values = new Float64Array(rows * w);
    let r = 0;
    for (let b = 0; b < this.bx.length; b++, r++) {
      x[r] = this.bx[b];
      lo[r] = this.blo[b];
      hi[r] = this.bhi[b];
      for (let i = 0; i < w; i++) values[r * w + i] = this.bv[b * w + i];
    }
    const p = this.partial;
    if (p.n) {
      x[r] = p.sumStep / p.n;
      lo[r] = p.lo;
      hi[r] = p.hi;
      for (let i = 0; i < w; i++) values[r * w + i] = this.finish(p.acc[i], p.cnt[i]);
      r++;
    }
    for (let k = 0; k < this.rx.length; k++, r++) {
      x[r] = lo[r] = hi[r] = this.rx[k];
      for (let i = 0; i < w; i++) values[r * w + i] = this.rv[k * w + i];
    }
    this.cache = { rows, width: w, x, lo, hi, values };
    return this.cache;
  }

  /** Value i of every row, as uPlot wants a series: null where nothing was recorded. @param {number} i */
  series(i) {
    const s = this.snapshot();
    /** @type {(number | null)[]} */
    const out = new Array(s.rows);
    for (let r = 0; r < s.rows; r++) {
      const v = s.values[r * s.width + i];
      out[r] = Number.isNaN(v) ? null : v;
    }
    return out;
  }

  emptyPartial() {
    return {
      n: 0,
      sumStep: 0,
      lo: 0,
      hi: 0,
      acc: new Float64Array(this.width).fill(this.reduce === 'max' ? Number.NEGATIVE_INFINITY : 0),
      cnt: new Float64Array(this.width),
    };
  }

  /** @param {number} acc @param {number} cnt */
  finish(acc, cnt) {
    if (!cnt) return Number.NaN;
    return this.reduce === 'max' ? acc : acc / cnt;
  }

  /** Moves the n oldest recent points into buckets. @param {number} n */
  age(n) {
    const w = this.width;
    for (let k = 0; k < n; k++) this.absorb(this.rx[k], this.rv, k * w);
    this.rx.splice(0, n);
    this.rv.splice(0, n * w);
  }

  /** @param {number} step @param {number[]} src @param {number} at */
  absorb(step, src, at) {
    const p = this.partial;
    if (p.n === 0) p.lo = step;
    p.hi = step;
    p.n++;
    p.sumStep += step;
    for (let i = 0; i < this.width; i++) {
      const v = src[at + i];
      if (Number.isNaN(v)) continue;
      p.cnt[i]++;
      p.acc[i] = this.reduce === 'max' ? Math.max(p.acc[i], v) : p.acc[i] + v;
    }
    if (p.n < this.bucketWidth) return;
    this.bx.push(p.sumStep / p.n);
    this.blo.push(p.lo);
    this.bhi.push(p.hi);
    for (let i = 0; i < this.width; i++) this.bv.push(this.finish(p.acc[i], p.cnt[i]));
    this.partial = this.emptyPartial();
    if (this.bx.length > this.bucketCap) this.coarsen();
  }

  /** Doubles the bucket width: merges buckets pairwise; the odd one out becomes the new partial bucket. */
  coarsen() {
    const w = this.width;
    const n = this.bx.length;
    const pairs = Math.floor(n / 2);
    const merge = this.reduce === 'max' ? maxOf : meanOf;
    for (let j = 0; j < pairs; j++) {
      const a = 2 * j;
      const b = a + 1;
      this.bx[j] = (this.bx[a] + this.bx[b]) / 2;
      this.blo[j] = this.blo[a];
      this.bhi[j] = this.bhi[b];
      for (let i = 0; i < w; i++) this.bv[j * w + i] = merge(this.bv[a * w + i], this.bv[b * w + i]);
    }
    const oddOne = n % 2 ? n - 1 : -1;
    const partial = this.emptyPartial();
    if (oddOne >= 0) {
      partial.n = this.bucketWidth;
      partial.sumStep = this.bx[oddOne] * this.bucketWidth;
      partial.lo = this.blo[oddOne];
      partial.hi = this.bhi[oddOne];
      for (let i = 0; i < w; i++) {
        const v = this.bv[oddOne * w + i];
        if (Number.isNaN(v)) continue;
        partial.cnt[i] = this.bucketWidth;
        partial.acc[i] = this.reduce === 'max' ? v : v * this.bucketWidth;
      }
    }
    this.bx.length = this.blo.length = this.bhi.length = pairs;
    this.bv.length = pairs * w;
    this.partial = partial;
    this.bucketWidth *= 2;
  }
}

/** @param {number} a @param {number} b */
function meanOf(a, b) {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return (a + b) / 2;
}

/** @param {number} a @param {number} b */
function maxOf(a, b) {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return Math.max(a, b);
}

/**
 * The row covering a step: the last row whose first step is at or before it (rows sorted by lo), or -1.
 * @param {ArrayLike<number>} lo
 * @param {number} rows
 * @param {number} step
 */
export function rowAt(lo, rows, step) {
  let a = 0;
  let b = rows - 1;
  if (rows === 0 || step < lo[0]) return -1;
  while (a < b) {
    const m = (a + b + 1) >> 1;
    if (lo[m] <= step) a = m;
    else b = m - 1;
  }
  return a;
}
