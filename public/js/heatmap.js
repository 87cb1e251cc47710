// A heatmap on a <canvas>: the cells (painted by paint.js into ImageData, scaled up without smoothing so
// every cell stays a crisp block), labelled axes, and a colour bar with its unit. Sized to its element.
import { LUT_SIZE } from './colormap.js';
import { formatPow10, intTicks, niceTicks } from './format.js';

/** Space around the cells, in CSS pixels: tick labels and axis titles live there. */
const MARGIN = { left: 46, right: 84, top: 8, bottom: 36 };
/** The colour bar right of the cells: its offset, width, and the least room between two of its tick labels. */
const BAR = { gap: 10, width: 12, tickSpacing: 40 };
const FONT = '12px system-ui, sans-serif';
const TICK = 4;

/**
 * @typedef {object} Axis
 * @property {string} label
 * @property {number} min first value (a step, or the first cell's index)
 * @property {number} max last value
 * @property {boolean} [cells] min..max index whole cells: ticks sit at cell centres
 * @property {(v: number) => string} [format]
 */

/**
 * @typedef {object} HeatmapSpec
 * @property {number | 'plot'} cols image columns; 'plot': one per device pixel of the plot area
 * @property {number} rows
 * @property {(img: Uint8ClampedArray, cols: number, rows: number) => number} paint returns cells painted
 * @property {Axis} x
 * @property {Axis} y
 * @property {{table: Uint8ClampedArray, lo: number, hi: number, log?: boolean, label: string}} bar
 */

export class Heatmap {
  /** @param {HTMLCanvasElement} canvas */
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
    this.off = document.createElement('canvas');
    this.offCtx = /** @type {CanvasRenderingContext2D} */ (this.off.getContext('2d'));
    this.draws = 0;
    /** The canvas's CSS size and ink, kept from the ResizeObserver (which reports after layout) so that a
     * draw never reads layout or style after the frame's DOM writes: that forced a layout per heatmap. */
    /** @type {{w: number, h: number} | null} */ this.size = null;
    /** @type {string | null} */ this.ink = null;
    new ResizeObserver(([e]) => {
      this.size = { w: e.contentRect.width, h: e.contentRect.height };
      this.ink = null;
    }).observe(canvas);
    globalThis.matchMedia?.('(prefers-color-scheme: dark)').addEventListener('change', () => {
      this.ink = null;
    });
  }

  /** The canvas's size in CSS pixels, as last laid out (read once before the first report). */
  laidOut() {
    this.size ??= { w: this.canvas.clientWidth, h: this.canvas.clientHeight };
    return this.size;
  }

  get width() {
    return this.laidOut().w;
  }

  get height() {
    return this.laidOut().h;
  }

  /** @param {HeatmapSpec} spec */
  draw(spec) {
    const { canvas, ctx } = this;
    const dpr = globalThis.devicePixelRatio || 1;
    const W = this.width;
    const H = this.height;
    if (W === 0 || H === 0) return; // hidden: drawn when it shows
    if (canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(H * dpr)) {
      canvas.width = Math.round(W * dpr);
      canvas.height = Math.round(H * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const pw = Math.max(1, W - MARGIN.left - MARGIN.right);
    const ph = Math.max(1, H - MARGIN.top - MARGIN.bottom);
    const cols = spec.cols === 'plot' ? Math.max(1, Math.round(pw * dpr)) : spec.cols;
    const rows = spec.rows;
    let painted = 0;
    if (cols > 0 && rows > 0) {
      if (this.off.width !== cols || this.off.height !== rows) {
        this.off.width = cols;
        this.off.height = rows;
      }
      const image = this.offCtx.createImageData(cols, rows);
      painted = spec.paint(image.data, cols, rows);
      this.offCtx.putImageData(image, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(this.off, MARGIN.left, MARGIN.top, pw, ph);
    }
    this.ink ??= getComputedStyle(canvas).color || '#222';
    const ink = this.ink;
    ctx.font = FONT;
    ctx.fillStyle = ink;
    ctx.strokeStyle = ink;
    this.xAxis(spec.x, pw, ph);
    this.yAxis(spec.y, ph);
    this.colourBar(spec.bar, W, ph);
    this.draws++;
    canvas.dataset.cells = String(painted);
    canvas.dataset.draws = String(this.draws);
  }

  /** @param {Axis} a @param {number} pw @param {number} ph */
  xAxis(a, pw, ph) {
    const { ctx } = this;
    const y = MARGIN.top + ph;
    const at = position(a, pw);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const v of ticks(a, Math.max(2, Math.floor(pw / 80)))) {
      const x = MARGIN.left + at(v);
      line(ctx, x, y, x, y + TICK);
      ctx.fillText((a.format ?? String)(v), x, y + TICK + 1);
    }
    ctx.fillText(a.label, MARGIN.left + pw / 2, y + TICK + 16);
  }

  /** @param {Axis} a @param {number} ph */
  yAxis(a, ph) {
    const { ctx } = this;
    const x = MARGIN.left;
    const at = position(a, ph);
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const v of ticks(a, Math.max(2, Math.floor(ph / 28)))) {
      const y = MARGIN.top + at(v);
      line(ctx, x - TICK, y, x, y);
      ctx.fillText((a.format ?? String)(v), x - TICK - 2, y);
    }
    ctx.save();
    ctx.translate(12, MARGIN.top + ph / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.fillText(a.label, 0, 0);
    ctx.restore();
  }

  /** @param {HeatmapSpec['bar']} bar @param {number} W @param {number} ph */
  colourBar(bar, W, ph) {
    const { ctx } = this;
    const x = W - MARGIN.right + BAR.gap;
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(barImage(bar.table), x, MARGIN.top, BAR.width, ph);
    ctx.fillStyle = this.ink ?? '#222';
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    const span = bar.hi - bar.lo || 1;
    const values = bar.log
      ? intTicks(Math.ceil(bar.lo), Math.floor(bar.hi), Math.max(2, Math.floor(ph / BAR.tickSpacing)))
      : niceTicks(bar.lo, bar.hi, 4);
    for (const v of values) {
      const y = MARGIN.top + (1 - (v - bar.lo) / span) * ph;
      line(ctx, x + BAR.width, y, x + BAR.width + TICK, y);
      ctx.fillText(bar.log ? formatPow10(v) : String(+v.toPrecision(3)), x + BAR.width + TICK + 2, y);
    }
    ctx.save();
    ctx.translate(W - 4, MARGIN.top + ph / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    ctx.fillText(bar.label, 0, 0);
    ctx.restore();
  }
}

/** @type {WeakMap<Uint8ClampedArray, HTMLCanvasElement>} */
const barImages = new WeakMap();

/** A colour table as a 1 × LUT_SIZE image, the top entry on top: drawn once, scaled onto every bar. @param {Uint8ClampedArray} table */
function barImage(table) {
  let img = barImages.get(table);
  if (img) return img;
  img = document.createElement('canvas');
  img.width = 1;
  img.height = LUT_SIZE;
  const c = /** @type {CanvasRenderingContext2D} */ (img.getContext('2d'));
  const data = c.createImageData(1, LUT_SIZE);
  for (let i = 0; i < LUT_SIZE; i++) {
    const at = (LUT_SIZE - 1 - i) * 4;
    data.data.set([table[i * 3], table[i * 3 + 1], table[i * 3 + 2], 255], at);
  }
  c.putImageData(data, 0, 0);
  barImages.set(table, img);
  return img;
}

/** Where a value sits along an axis of `len` pixels. @param {Axis} a @param {number} len */
function position(a, len) {
  if (a.cells) {
    const n = a.max - a.min + 1;
    return (/** @type {number} */ v) => ((v - a.min + 0.5) / n) * len;
  }
  const span = a.max - a.min;
  return (/** @type {number} */ v) => (span > 0 ? ((v - a.min) / span) * len : len / 2);
}

/** @param {Axis} a @param {number} count */
function ticks(a, count) {
  return a.cells ? intTicks(a.min, a.max, count) : niceTicks(a.min, a.max, count);
}

/** @param {CanvasRenderingContext2D} ctx @param {number} x0 @param {number} y0 @param {number} x1 @param {number} y1 */
function line(ctx, x0, y0, x1, y1) {
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
}
