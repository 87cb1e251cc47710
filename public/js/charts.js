// The two line charts, with uPlot (served from node_modules): loss and accuracy against step, and the
// per-weight gradient norms on a log axis. Each follows its container's width; a drag zooms and pauses
// auto-ranging on new data, a double click zooms back out.
import uPlot from '/vendor/uplot/uPlot.esm.js';
import { formatPercent, formatPow10, formatStep, formatValue } from './format.js';

/** Height of a chart's plotting area, in CSS pixels; the legend sits below it. */
export const CHART_HEIGHT = 220;
/** One colour per series, distinguishable by people with the common colour-vision deficiencies (Okabe–Ito). */
export const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000'];
/** A run's colour in a comparison, by its place in the selection: all eight Okabe–Ito colours. */
export const RUN_COLOURS = [...PALETTE, '#f0e442'];
/** Runs one comparison may hold: one colour each. */
export const MAX_COMPARED = RUN_COLOURS.length;

/**
 * @typedef {object} LiveChart
 * @property {(data: uPlot.AlignedData) => void} update
 * @property {uPlot} plot
 */

/** The page's ink and rule colours (light or dark scheme), for axes uPlot draws on its canvas. */
function themed(/** @type {uPlot.Axis[]} */ axes) {
  const css = getComputedStyle(document.documentElement);
  const ink = css.getPropertyValue('--ink').trim() || '#1d2330';
  const line = css.getPropertyValue('--line').trim() || '#d9dde5';
  return axes.map((a) => ({ stroke: ink, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 }, ...a }));
}

/** @param {HTMLElement} el @param {uPlot.Options['series']} series @param {Partial<uPlot.Options>} extra @returns {LiveChart} */
export function liveChart(el, series, extra) {
  let zoomed = false;
  const width = () => Math.max(200, el.clientWidth);
  /** @type {uPlot.Options} */
  const opts = {
    width: width(),
    height: CHART_HEIGHT,
    series,
    cursor: { drag: { x: true, y: false, setScale: true } },
    hooks: {
      setSelect: [
        (u) => {
          if (u.select.width > 0) zoomed = true;
        },
      ],
    },
    ...extra,
    axes: themed(extra.axes ?? []),
  };
  const plot = new uPlot(opts, [[], ...series.slice(1).map(() => [])], el);
  plot.over.addEventListener('dblclick', () => {
    zoomed = false;
  });
  new ResizeObserver(() => {
    if (Math.abs(plot.width - width()) >= 1) plot.setSize({ width: width(), height: CHART_HEIGHT });
  }).observe(el);
  return {
    plot,
    update(data) {
      plot.setData(data, !zoomed);
      el.dataset.points = String(data[0].length);
    },
  };
}

/** @param {number} v */
export function decadeLabel(v) {
  const e = Math.log10(v);
  return Math.abs(e - Math.round(e)) < 1e-9 ? formatPow10(e) : '';
}

const stepTicks = (/** @type {uPlot} */ _u, /** @type {number[]} */ splits) => splits.map(formatStep);
export const stepAxis = { label: 'training step', values: stepTicks };

/** Loss (nats, left axis) and accuracy (%, right axis) against step. @param {HTMLElement} el */
export function lossChart(el) {
  return liveChart(
    el,
    [
      { label: 'step', value: (_u, v) => (v === null ? '–' : formatStep(v)) },
      { label: 'loss', scale: 'nats', stroke: PALETTE[0], width: 1.5, value: (_u, v) => `${formatValue(v)} nats` },
      {
        label: 'accuracy',
        scale: '%',
        stroke: PALETTE[1],
        width: 1.5,
        value: (_u, v) => (v === null ? '–' : formatPercent(v / 100)),
      },
    ],
    {
      scales: { x: { time: false }, nats: { auto: true }, '%': { auto: false, range: [0, 100] } },
      axes: [
        stepAxis,
        { scale: 'nats', label: 'loss (nats)' },
        { scale: '%', side: 1, label: 'accuracy (%)', grid: { show: false } },
      ],
    },
  );
}

/** ‖dL/dθ‖ per weight on a log axis. @param {HTMLElement} el @param {string[]} keys */
export function gradChart(el, keys) {
  return liveChart(
    el,
    [
      { label: 'step', value: (_u, v) => (v === null ? '–' : formatStep(v)) },
      ...keys.map((k, i) => ({
        label: `‖dL/d${k}‖`,
        stroke: PALETTE[i % PALETTE.length],
        width: 1.5,
        value: (/** @type {uPlot} */ _u, /** @type {number | null} */ v) => formatValue(v),
      })),
    ],
    {
      scales: { x: { time: false }, y: { distr: 3 } },
      // a label at each power of ten; the grid lines between them stay unlabelled
      axes: [stepAxis, { label: '‖dL/dθ‖ (log)', values: (_u, splits) => splits.map(decadeLabel) }],
    },
  );
}
