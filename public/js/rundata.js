// What the page knows about the selected run, folded from its event frames: bounded histories of the
// metrics, the per-weight gradient norms and the dL/dh_t profiles, the latest hidden snapshot, the status.
import { History } from './history.js';

/** The weights in the order of the sheet's state_dict; any other key the server sends goes after them. */
export const WEIGHT_KEYS = ['U.weight', 'W.weight', 'W.bias', 'V.weight', 'V.bias'];
/** Scalar charts: the latest points at full resolution, and at most this many buckets before them. */
export const SERIES_SIZE = { recent: 1024, buckets: 2048 };
/** The dL/dh_t heatmap holds T values per row, and is at most a few hundred pixels wide: fewer rows. */
export const PROFILE_SIZE = { recent: 256, buckets: 512 };

export class RunData {
  constructor() {
    /** loss (nats) and accuracy (fraction), averaged per bucket */
    this.metrics = new History({ width: 2, reduce: 'mean', ...SERIES_SIZE });
    /** @type {string[]} */
    this.gradKeys = [];
    /** per-weight ‖dL/dθ‖, the max per bucket so that a spike (an exploding gradient) survives downsampling */
    /** @type {History | null} */
    this.grads = null;
    /** ‖dL/dh_t‖ for t = 0..T−1, averaged per bucket */
    /** @type {History | null} */
    this.dh = null;
    /** @type {{step: number, h: number[][]} | null} */
    this.hidden = null;
    /** @type {string | null} */
    this.status = null;
    /** @type {string | null} */
    this.reason = null;
    this.lastStep = -1;
    this.frames = 0;
    /** Steps the charts cover: a history bucket counts its steps, a live frame one. */
    this.covered = 0;
    /** The snapshot interval and the last snapshot's step, once the history has said. */
    /** @type {number | null} */ this.hiddenEvery = null;
    /** @type {number | null} */ this.lastHidden = null;
  }

  /**
   * A bucket of the server's history: its first step, how many steps it holds, the mean loss and accuracy,
   * and the max ‖dL/dθ‖ of each weight.
   * @param {number} step @param {number} count @param {number | null} loss @param {number | null} accuracy
   * @param {string[]} keys @param {(number | null)[]} grads
   */
  bucket(step, count, loss, accuracy, keys, grads) {
    if (!this.metrics.push(step, [loss, accuracy])) return;
    this.covered += count;
    if (!this.grads) {
      this.gradKeys = keys;
      this.grads = new History({ width: keys.length, reduce: 'max', ...SERIES_SIZE });
    }
    this.grads.push(
      step,
      grads.map((g) => (g !== null && g > 0 ? g : null)),
    );
  }

  /** A sampled dL/dh_t profile of the history. @param {number} step @param {number[]} dhNorm */
  profile(step, dhNorm) {
    if (!dhNorm.length) return;
    if (!this.dh || this.dh.width !== dhNorm.length)
      this.dh = new History({ width: dhNorm.length, reduce: 'mean', ...PROFILE_SIZE });
    this.dh.push(step, dhNorm);
  }

  /** T, from the profiles or the hidden snapshot, once a frame has said. */
  get T() {
    return this.dh?.width ?? this.hidden?.h.length ?? null;
  }

  get H() {
    return this.hidden?.h[0]?.length ?? null;
  }

  /** @param {import('./events.js').Frame} f @returns {boolean} whether anything changed */
  apply(f) {
    this.frames++;
    if (f.event === 'step') return this.step(f);
    if (f.event === 'hidden' && Array.isArray(f.h)) {
      if (this.hidden && f.step <= this.hidden.step) return false;
      this.hidden = { step: f.step, h: f.h };
      return true;
    }
    if (f.event === 'status' && f.status) {
      this.status = f.status;
      this.reason = f.reason ?? null;
      return true;
    }
    return false;
  }

  /** @param {import('./events.js').Frame} f */
  step(f) {
    if (!this.metrics.push(f.step, [f.loss, f.accuracy])) return false;
    this.lastStep = f.step;
    this.covered++;
    if (f.gradNorm) {
      if (!this.grads) {
        const keys = Object.keys(f.gradNorm);
        this.gradKeys = [
          ...WEIGHT_KEYS.filter((k) => keys.includes(k)),
          ...keys.filter((k) => !WEIGHT_KEYS.includes(k)),
        ];
        this.grads = new History({ width: this.gradKeys.length, reduce: 'max', ...SERIES_SIZE });
      }
      const g = f.gradNorm;
      // a zero norm has no place on a log axis: leave the point out
      this.grads.push(
        f.step,
        this.gradKeys.map((k) => (g[k] > 0 ? g[k] : null)),
      );
    }
    if (Array.isArray(f.dhNorm) && f.dhNorm.length) {
      if (!this.dh || this.dh.width !== f.dhNorm.length)
        this.dh = new History({ width: f.dhNorm.length, reduce: 'mean', ...PROFILE_SIZE });
      this.dh.push(f.step, f.dhNorm);
    }
    return true;
  }

  /** The latest dL/dh_t profile (for the drawing's node colours), or null. */
  latestProfile() {
    const s = this.dh?.snapshot();
    if (!s || s.rows === 0) return null;
    return s.values.subarray((s.rows - 1) * s.width, s.rows * s.width);
  }
}

/**
 * The network's shape for the drawing: the run's own `config` and `length` (T), which GET /v1/runs/:id
 * always gives.
 * @param {{config: {inputSize: number, hiddenSize: number, outputSize: number, activation: string, readout: string}, length: number}} run
 * @returns {import('./network.js').NetShape}
 */
export function shapeOf(run) {
  const c = run.config;
  return {
    T: run.length,
    d: c.inputSize,
    H: c.hiddenSize,
    C: c.outputSize,
    activation: c.activation,
    readout: c.readout,
  };
}
