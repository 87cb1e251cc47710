// The page's client of a run's history (GET /v1/runs/:id/history, downsampled on the server) and of its
// export: opening a run reads its whole history in one answer instead of replaying every frame.
import { api, getToken } from './api.js';
import { WEIGHT_KEYS } from './rundata.js';

/** Buckets asked for when a run opens: about a chart's width in pixels. */
export const OPEN_POINTS = 1000;

/**
 * @typedef {{min: (number | null)[], max: (number | null)[], mean: (number | null)[]}} SeriesBuckets
 * @typedef {object} History
 * @property {string} id
 * @property {number} from
 * @property {number} to
 * @property {{first: number, last: number} | null} recorded
 * @property {Record<string, string | number | boolean | null>} settings
 * @property {{bucket: number, start: number[], count: number[], series: Record<string, SeriesBuckets>, dhNorm?: number[][]}} [step]
 * @property {{steps: number[], dhNorm: number[][], gradNorm: Record<string, number>[]}} [profile]
 * @property {{every: number, total: number, stride: number, last: number | null, steps: number[], h: number[][][]}} [hidden]
 */

/**
 * @param {string} id
 * @param {{from?: number, to?: number, points?: number, snapshots?: number, kinds?: string[], at?: number[]}} q
 * @returns {Promise<History>}
 */
export function history(id, q) {
  const p = new URLSearchParams();
  if (q.from !== undefined) p.set('from', String(Math.max(0, Math.floor(q.from))));
  if (q.to !== undefined) p.set('to', String(Math.max(0, Math.floor(q.to))));
  if (q.points) p.set('points', String(q.points));
  if (q.snapshots) p.set('snapshots', String(q.snapshots));
  if (q.kinds) p.set('kinds', q.kinds.join(','));
  if (q.at?.length) p.set('at', q.at.join(','));
  return api('GET', `/v1/runs/${encodeURIComponent(id)}/history?${p}`);
}

/** The link that downloads every step of a run. @param {string} id @param {'csv' | 'jsonl'} format */
export function exportUrl(id, format) {
  const p = new URLSearchParams({ format });
  // a link cannot send a header: the token rides in the query, as on the event socket
  const token = getToken();
  if (token) p.set('access_token', token);
  return `/v1/runs/${encodeURIComponent(id)}/export?${p}`;
}

/**
 * A run as the panel opens it: the series (one request), the sampled dL/dh_t profiles for the heatmap, and
 * the latest hidden snapshot (a second request, in parallel).
 * @param {any} run GET /v1/runs/:id
 */
export async function openHistory(run) {
  const [series, latest] = await Promise.all([
    history(run.id, { points: OPEN_POINTS, kinds: ['step', 'profile'] }),
    // the last snapshot: the final one sits at the run's step, the others at multiples of hiddenEvery
    history(run.id, { from: Math.max(0, (run.step ?? 0) - 1), kinds: ['hidden'], snapshots: 1 }),
  ]);
  let hidden = latest.hidden;
  if (hidden && hidden.total === 0 && (run.step ?? 0) > 0) {
    const back = await history(run.id, { from: (run.step ?? 0) - 2 * hidden.every, kinds: ['hidden'], snapshots: 1 });
    const last = back.hidden?.last;
    if (last !== null && last !== undefined)
      hidden = (await history(run.id, { from: last, to: last, kinds: ['hidden'], snapshots: 1 })).hidden;
  }
  return { series, hidden: hidden ?? null };
}

/**
 * Folds a history into RunData, as if its frames had arrived (buckets in place of steps).
 * @param {import('./rundata.js').RunData} data
 * @param {Awaited<ReturnType<typeof openHistory>>} h
 */
export function applyHistory(data, h) {
  const s = h.series.step;
  if (s) {
    const loss = s.series.loss;
    const acc = s.series.accuracy;
    const keys = WEIGHT_KEYS.filter((k) => s.series[`gradNorm.${k}`]);
    s.start.forEach((step, k) => {
      // the gradient chart keeps the max of a bucket, so that a spike survives, as live
      data.bucket(
        step,
        s.count[k],
        loss.mean[k],
        acc.mean[k],
        keys,
        keys.map((key) => s.series[`gradNorm.${key}`].max[k]),
      );
    });
  }
  const p = h.series.profile;
  if (p) for (let k = 0; k < p.steps.length; k++) data.profile(p.steps[k], p.dhNorm[k]);
  const hid = h.hidden;
  if (hid?.steps.length)
    data.apply({ event: 'hidden', step: hid.steps[hid.steps.length - 1], h: hid.h[hid.h.length - 1] });
  if (h.series.recorded) data.lastStep = Math.max(data.lastStep, h.series.recorded.last);
  data.hiddenEvery = hid?.every ?? data.hiddenEvery;
  data.lastHidden = hid?.last ?? data.lastHidden;
}
