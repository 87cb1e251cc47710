// Several runs side by side (up to eight, kept in the URL as #compare=<id>,<id>,…): loss, accuracy and
// ‖dL/dθ‖ overlaid on shared axes, the dL/dh_t profile of each at a chosen step (the picture of vanishing
// gradients), and a table of only the settings in which they differ. One colour per run, as in the list.
import uPlot from '/vendor/uplot/uPlot.esm.js';
import { api } from './api.js';
import { decadeLabel, liveChart, MAX_COMPARED, RUN_COLOURS, stepAxis } from './charts.js';
import { formatPercent, formatStep, formatValue } from './format.js';
import { history } from './runhistory.js';

/** Buckets per run in the overlays. */
const POINTS = 1000;

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** The runs of a #compare= hash, at most MAX_COMPARED, each once. @param {string} hash */
export function comparedIds(hash) {
  const v = new URLSearchParams(hash.replace(/^#/, '')).get('compare');
  return v ? [...new Set(v.split(',').filter(Boolean))].slice(0, MAX_COMPARED) : [];
}

/**
 * The settings in which runs differ: a row per such key, a value per run ('–' where a run has none).
 * @param {Record<string, unknown>[]} settings
 */
export function differing(settings) {
  const keys = [...new Set(settings.flatMap((s) => Object.keys(s)))];
  const show = (/** @type {unknown} */ v) => (v === undefined || v === null ? '–' : String(v));
  return keys
    .map((key) => ({ key, values: settings.map((s) => show(s[key])) }))
    .filter((r) => new Set(r.values).size > 1);
}

/**
 * @typedef {object} Compared
 * @property {any} run
 * @property {string} colour
 * @property {import('./runhistory.js').History} h
 * @property {{step: number, dhNorm: number[]} | null} profile
 */

export class CompareView {
  constructor() {
    this.root = $('compare');
    /** @type {Compared[]} */ this.runs = [];
    /** @type {string[]} */ this.ids = [];
    this.charts = /** @type {Record<string, import('./charts.js').LiveChart | null>} */ ({});
    this.key = '';
    $('compare-step').addEventListener('change', () => void this.profiles());
  }

  get shown() {
    return !this.root.hidden;
  }

  /** @param {string[]} ids */
  async show(ids) {
    this.root.hidden = false;
    const key = ids.join();
    if (key === this.key) return;
    this.key = key;
    this.ids = ids;
    this.root.dataset.ready = '';
    const runs = await Promise.all(
      ids.map(async (id, i) => ({
        run: await api('GET', `/v1/runs/${encodeURIComponent(id)}`),
        colour: RUN_COLOURS[i],
        h: await history(id, { points: POINTS, kinds: ['step'] }),
        profile: null,
      })),
    );
    if (this.key !== key) return;
    this.runs = runs;
    this.legend();
    this.overlays();
    this.settings();
    await this.profiles();
    this.root.dataset.ready = key;
  }

  hide() {
    this.root.hidden = true;
    this.key = '';
  }

  legend() {
    $('compare-legend').replaceChildren(
      ...this.runs.map(({ run, colour, h }) => {
        const li = document.createElement('li');
        const sw = document.createElement('span');
        sw.className = 'swatch';
        sw.style.setProperty('background', colour);
        const a = document.createElement('a');
        a.href = `#run=${run.id}`;
        a.textContent = `${run.name || run.task || run.id.slice(0, 8)} · T = ${run.length} · ${run.status}`;
        const n = document.createElement('span');
        n.className = 'hint';
        n.textContent = ` ${formatStep((h.recorded?.last ?? -1) + 1)} steps`;
        li.append(sw, a, n);
        return li;
      }),
    );
  }

  /** One chart per metric, a line per run (the bucket means; ‖dL/dθ‖ keeps each bucket's max). */
  overlays() {
    const specs = [
      {
        id: 'plot-cmp-loss',
        series: 'loss',
        field: 'mean',
        unit: (/** @type {number | null} */ v) => `${formatValue(v)} nats`,
        scale: 1,
        log: false,
        label: 'loss (nats)',
      },
      {
        id: 'plot-cmp-acc',
        series: 'accuracy',
        field: 'mean',
        unit: (/** @type {number | null} */ v) => (v === null ? '–' : formatPercent(v / 100)),
        scale: 100,
        log: false,
        label: 'accuracy (%)',
      },
      {
        id: 'plot-cmp-grad',
        series: 'gradNorm',
        field: 'max',
        unit: formatValue,
        scale: 1,
        log: true,
        label: '‖dL/dθ‖ (log)',
      },
    ];
    for (const s of specs) {
      const el = $(s.id);
      el.replaceChildren();
      /** @type {uPlot.Series[]} */
      const series = [
        { label: 'step', value: (_u, v) => (v === null ? '–' : formatStep(v)) },
        ...this.runs.map(({ run, colour }) => ({
          label: run.name || `${run.task ?? 'run'} T=${run.length}`,
          stroke: colour,
          width: 1.5,
          spanGaps: true,
          value: (/** @type {uPlot} */ _u, /** @type {number | null} */ v) => s.unit(v),
        })),
      ];
      const chart = liveChart(el, series, {
        scales: { x: { time: false }, y: s.log ? { distr: 3 } : { auto: true } },
        axes: [
          stepAxis,
          s.log ? { label: s.label, values: (_u, splits) => splits.map(decadeLabel) } : { label: s.label },
        ],
      });
      const tables = this.runs.map(({ h }) => {
        const st = h.step;
        const col = st?.series[s.series]?.[/** @type {'mean' | 'max'} */ (s.field)] ?? [];
        const ys = col.map((v) => (v === null || (s.log && !(v > 0)) ? null : v * s.scale));
        return /** @type {uPlot.AlignedData} */ ([st?.start ?? [], ys]);
      });
      chart.update(uPlot.join(tables));
      this.charts[s.id] = chart;
    }
  }

  /** The profile chart: ‖dL/dh_t‖ against t, a line per run, at the chosen step (or each run's latest). */
  async profiles() {
    const asked = /** @type {HTMLInputElement} */ ($('compare-step')).value;
    const key = this.key;
    const got = await Promise.all(
      this.runs.map(async ({ run, h }) => {
        const last = h.recorded?.last ?? -1;
        if (last < 0) return null;
        const step = asked === '' ? last : Math.min(last, Math.max(0, Number(asked)));
        const p = (await history(run.id, { kinds: ['profile'], at: [step] })).profile;
        return p?.steps.length ? { step: p.steps[0], dhNorm: p.dhNorm[0] } : null;
      }),
    );
    if (key !== this.key) return;
    this.runs.forEach((r, i) => {
      r.profile = got[i];
    });
    const T = Math.max(1, ...got.map((p) => p?.dhNorm.length ?? 0));
    const el = $('plot-cmp-profile');
    el.replaceChildren();
    const chart = liveChart(
      el,
      [
        { label: 't', value: (_u, v) => (v === null ? '–' : String(v)) },
        ...this.runs.map(({ run, colour, profile }) => ({
          label: `${run.name || `${run.task ?? 'run'} T=${run.length}`}${profile ? ` @ ${formatStep(profile.step)}` : ''}`,
          stroke: colour,
          width: 1.5,
          points: { show: true, size: 4 },
          value: (/** @type {uPlot} */ _u, /** @type {number | null} */ v) => formatValue(v),
        })),
      ],
      {
        scales: { x: { time: false }, y: { distr: 3 } },
        axes: [{ label: 'timestep t' }, { label: '‖dL/dh_t‖ (log)', values: (_u, splits) => splits.map(decadeLabel) }],
      },
    );
    const ts = Array.from({ length: T }, (_, t) => t);
    chart.update([
      ts,
      ...this.runs.map(({ profile }) => ts.map((t) => (profile && profile.dhNorm[t] > 0 ? profile.dhNorm[t] : null))),
    ]);
    this.charts['plot-cmp-profile'] = chart;
    // what the browser tests read back
    $('fig-cmp-profile').dataset.profile = JSON.stringify(
      this.runs.map(({ run, profile }) => ({ id: run.id, step: profile?.step ?? null, dhNorm: profile?.dhNorm ?? [] })),
    );
  }

  settings() {
    const rows = differing(this.runs.map(({ h }) => h.settings));
    const table = $('compare-settings');
    const head = document.createElement('tr');
    const corner = document.createElement('th');
    corner.textContent = 'setting';
    head.append(corner);
    for (const { run, colour } of this.runs) {
      const th = document.createElement('th');
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.setProperty('background', colour);
      th.append(sw, document.createTextNode(run.name || run.id.slice(0, 8)));
      head.append(th);
    }
    const body = rows.map((r) => {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.textContent = r.key;
      tr.append(th);
      for (const v of r.values) {
        const td = document.createElement('td');
        td.textContent = v;
        tr.append(td);
      }
      return tr;
    });
    table.replaceChildren(head, ...body);
    $('compare-same').hidden = rows.length > 0 || this.runs.length < 2;
    table.dataset.rows = String(rows.length);
  }
}
