// Scrubbing through a run's recorded history: a slider over its hidden snapshots (every hiddenEvery steps,
// and the last one of the trained weights), each shown with the dL/dh_t profile of its step. Snapshots
// arrive a page at a time (one history request each) and are kept, so dragging and the keyboard draw from
// memory: the page under the slider and the ones beside it are fetched ahead, and the page under the thumb
// when a finished run opens. A page fetched while the run was still recording it holds only the snapshots
// it had then: asked for a later one, it is fetched again.
import { history } from './runhistory.js';

/** Snapshots per history request. */
export const PAGE = 32;
/** Pages kept per run (each is PAGE × T × H numbers). */
const KEEP = 64;

/** @typedef {{step: number, h: number[][], dhNorm: number[] | null}} Snapshot */
/** @typedef {(runId: string, q: {from: number, to: number, kinds: string[], snapshots: number}) => Promise<import('./runhistory.js').History>} FetchPage */

/** A prefetch that fails is only a fetch to do again when the page is needed. */
const ignore = () => {};

/**
 * The steps of a run's snapshots, as an index: 0, every, 2·every, … up to the last recorded step, and the
 * final snapshot after the last step when there is one.
 * @param {number} every @param {number} lastStep the last recorded step @param {number | null} lastHidden
 */
export function snapshotSteps(every, lastStep, lastHidden) {
  const regular = lastStep >= 0 ? Math.floor(lastStep / every) + 1 : 0;
  const extra = lastHidden !== null && lastHidden > (regular - 1) * every ? 1 : 0;
  return {
    count: regular + extra,
    /** @param {number} i */
    step: (i) => (i < regular ? i * every : /** @type {number} */ (lastHidden)),
    /** The index of the snapshot at or before a step. @param {number} s */
    index: (s) =>
      extra && lastHidden !== null && s >= lastHidden ? regular : Math.min(regular - 1, Math.floor(s / every)),
  };
}

export class Scrubber {
  /**
   * @param {HTMLInputElement} input the slider
   * @param {(snap: Snapshot | null) => void} onChange a snapshot to show (null: back to the latest)
   * @param {FetchPage} [fetchPage] a page of the history route (the tests give their own)
   */
  constructor(input, onChange, fetchPage = history) {
    this.input = input;
    this.onChange = onChange;
    this.fetchPage = fetchPage;
    /** @type {string | null} */ this.runId = null;
    this.steps = snapshotSteps(1, -1, null);
    /** Each page's request, and the last snapshot index there was when it was made. */
    /** @type {Map<number, {p: Promise<Map<number, Snapshot>>, last: number}>} */ this.pages = new Map();
    /** @type {Map<number, Map<number, Snapshot>>} */ this.loaded = new Map();
    /** The index the slider asked for last (what a late page answers, if still wanted). */
    this.wanted = -1;
    /** Snapshots shown while scrubbing, and the page fetches they took. */
    this.shown = 0;
    this.fetches = 0;
    /** A run still training: the slider's last position follows the latest snapshot. */
    this.live = false;
    input.addEventListener('input', () => this.seek(Number(input.value)));
  }

  /** @param {string} runId @param {number} every @param {number} lastStep @param {number | null} lastHidden */
  reset(runId, every, lastStep, lastHidden) {
    const opened = runId !== this.runId;
    if (opened) {
      this.pages.clear();
      this.loaded.clear();
      this.wanted = -1;
    }
    this.runId = runId;
    this.every = every;
    const atEnd = this.wanted < 0 || this.wanted >= this.steps.count - 1;
    this.steps = snapshotSteps(every, lastStep, lastHidden);
    this.input.max = String(Math.max(0, this.steps.count - 1));
    this.input.disabled = this.steps.count < 2;
    if (atEnd) this.input.value = this.input.max;
    // a finished run: the page under the thumb, for the first key press or drag from there
    if (opened && !this.live && this.steps.count >= 2)
      this.load(Math.floor((this.steps.count - 1) / PAGE)).catch(ignore);
  }

  /** @param {number} i */
  seek(i) {
    this.wanted = i;
    if (i >= this.steps.count - 1 && this.live) return this.onChange(null);
    const page = Math.floor(i / PAGE);
    const hit = this.loaded.get(page)?.get(this.steps.step(i));
    if (hit) this.show(hit);
    else
      this.load(page, i).then((snaps) => {
        if (this.wanted !== i) return;
        const s = snaps.get(this.steps.step(i));
        if (s) this.show(s);
      }, ignore);
    // ahead of a drag, either way
    if (page + 1 <= Math.floor((this.steps.count - 1) / PAGE)) this.load(page + 1).catch(ignore);
    if (page > 0) this.load(page - 1).catch(ignore);
  }

  /** @param {Snapshot} s */
  show(s) {
    this.shown++;
    this.onChange(s);
  }

  /**
   * @param {number} page @param {number} [need] the snapshot index wanted from it
   * @returns {Promise<Map<number, Snapshot>>}
   */
  load(page, need = -1) {
    const had = this.pages.get(page);
    // fetched while the run had fewer snapshots than the one wanted now: fetch it again
    if (had && need <= had.last) return had.p;
    const runId = /** @type {string} */ (this.runId);
    const first = page * PAGE;
    const last = Math.min(this.steps.count - 1, first + PAGE - 1);
    this.fetches++;
    const p = this.fetchPage(runId, {
      from: this.steps.step(first),
      to: this.steps.step(last),
      kinds: ['hidden', 'profile'],
      snapshots: PAGE,
    }).then(
      (h) => {
        /** @type {Map<number, Snapshot>} */
        const snaps = new Map();
        const prof = new Map((h.profile?.steps ?? []).map((s, k) => [s, h.profile?.dhNorm[k] ?? null]));
        h.hidden?.steps.forEach((s, k) => {
          snaps.set(s, { step: s, h: /** @type {any} */ (h.hidden).h[k], dhNorm: prof.get(s) ?? null });
        });
        if (runId === this.runId && this.pages.get(page)?.p === p) {
          this.loaded.set(page, snaps);
          if (this.loaded.size > KEEP) this.evict(page);
        }
        return snaps;
      },
      (err) => {
        if (this.pages.get(page)?.p === p) this.pages.delete(page);
        throw err;
      },
    );
    this.pages.set(page, { p, last });
    return p;
  }

  /** Drops the page farthest from the one in use. @param {number} near */
  evict(near) {
    let far = near;
    for (const k of this.loaded.keys()) if (Math.abs(k - near) > Math.abs(far - near)) far = k;
    this.loaded.delete(far);
    this.pages.delete(far);
  }
}
