// The network of the exercise sheet as SVG, for a run's shape: folded (x → h ↺ W → y) and unrolled over
// its T steps (x_t → h_t → y_t with U, W and V on the arrows, h_{−1} = 0 on the left), a window of steps with
// an ellipsis when T is large. Built as a plain tree here (testable without a DOM) and rendered by toDom.

/** @typedef {{tag: string, attrs?: Record<string, string | number>, text?: string, children?: SvgNode[]}} SvgNode */

/**
 * @typedef {object} NetShape
 * @property {number} T sequence length
 * @property {number | null} [d] input size
 * @property {number | null} [H] hidden size
 * @property {number | null} [C] classes
 * @property {string} [activation] 'tanh' | 'relu'
 * @property {string} [readout] 'last' | 'all'
 */

/** Steps drawn before and after the ellipsis when T is larger than HEAD + TAIL + 1. */
export const HEAD = 3;
export const TAIL = 2;
const COL = 96;
const R = 21;
const ROW = { y: 40, h: 140, x: 240 };
const HEIGHT = 280;
const LEFT = 100;

/**
 * The windows of steps tried, widest first, when the drawing must fit a narrow card: below MIN_SCALE the
 * labels would be too small to read (at 390 px the full window is drawn at less than half size).
 */
const WINDOWS = [
  { head: HEAD, tail: TAIL },
  { head: 2, tail: 1 },
  { head: 1, tail: 1 },
];
export const MIN_SCALE = 0.8;

/**
 * The steps drawn, in order, with null for the ellipsis.
 * @param {number} T @param {{head: number, tail: number}} [win]
 */
export function shownSteps(T, win = WINDOWS[0]) {
  const { head, tail } = win;
  if (T <= head + tail + 1) return Array.from({ length: T }, (_, t) => t);
  return [...Array.from({ length: head }, (_, t) => t), null, ...Array.from({ length: tail }, (_, k) => T - tail + k)];
}

/** The drawing's width in its own units for n columns. @param {number} n */
const widthFor = (n) => LEFT + (n + 0.6) * COL;

/**
 * The widest window whose drawing fits `px` pixels at MIN_SCALE or more (the narrowest when none does).
 * @param {number} T @param {number} px the width the drawing has on the page
 */
export function windowFor(T, px) {
  return WINDOWS.find((w) => px >= widthFor(shownSteps(T, w).length) * MIN_SCALE) ?? WINDOWS[WINDOWS.length - 1];
}

/** @param {string} tag @param {Record<string, string | number>} [attrs] @param {SvgNode[] | string} [content] @returns {SvgNode} */
function el(tag, attrs = {}, content = []) {
  return typeof content === 'string' ? { tag, attrs, text: content } : { tag, attrs, children: content };
}

/** A label like h₁₂: the letter, then its index as a lowered, smaller tspan. @param {string} name @param {string} [index] */
export function label(name, index, attrs = {}) {
  const parts = [el('tspan', {}, name)];
  if (index !== undefined) parts.push(el('tspan', { dy: '0.4em', 'font-size': '0.72em' }, index));
  return el('text', { 'text-anchor': 'middle', 'dominant-baseline': 'central', ...attrs }, parts);
}

/** @param {string} id */
function defs(id) {
  return el('defs', {}, [
    el('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' }, [
      el('path', { d: 'M0,0 L10,5 L0,10 z', class: 'head' }),
    ]),
  ]);
}

/** @param {number} x1 @param {number} y1 @param {number} x2 @param {number} y2 @param {string} marker @param {string} cls */
function arrow(x1, y1, x2, y2, marker, cls) {
  return el('line', { x1, y1, x2, y2, class: `arrow ${cls}`, 'marker-end': `url(#${marker})` });
}

/**
 * A circle with its label at the centre.
 * @param {string} kind @param {number} cx @param {number} cy @param {string} name @param {string} [index]
 * @param {Record<string, string | number>} [attrs]
 */
function node(kind, cx, cy, name, index, attrs = {}) {
  return el('g', { class: `node ${kind}`, ...attrs }, [
    el('circle', { cx, cy, r: R }),
    label(name, index, { x: cx, y: cy }),
  ]);
}

/**
 * The unrolled network: one column per shown step.
 * @param {NetShape} shape @param {string} [idPrefix] keeps marker ids unique on a page with several drawings
 * @param {{head: number, tail: number}} [win] the steps drawn before and after the ellipsis (windowFor)
 */
export function unrolled(shape, idPrefix = 'net', win = WINDOWS[0]) {
  const marker = `${idPrefix}-arrow`;
  const steps = shownSteps(shape.T, win);
  const last = shape.T - 1;
  const perStep = shape.readout === 'all';
  const width = widthFor(steps.length);
  /** @type {SvgNode[]} */
  const parts = [defs(marker)];
  const cx = (/** @type {number} */ i) => LEFT + (i + 0.5) * COL;
  // h_{−1} = 0, where the recursion starts
  const h0x = 34;
  parts.push(node('h0', h0x, ROW.h, '0', undefined, { 'data-t': -1 }));
  parts.push(el('text', { x: h0x, y: ROW.h + R + 16, 'text-anchor': 'middle', class: 'note' }, 'h₋₁'));
  let prevX = h0x;
  steps.forEach((t, i) => {
    const x = cx(i);
    if (t === null) {
      parts.push(
        el('text', { x, y: ROW.h, 'text-anchor': 'middle', 'dominant-baseline': 'central', class: 'ellipsis' }, '⋯'),
      );
      parts.push(el('line', { x1: prevX + R, y1: ROW.h, x2: x - 14, y2: ROW.h, class: 'arrow W dashed' }));
      prevX = x + 14 - R; // the next W arrow starts right after the ellipsis
      return;
    }
    const ix = String(t);
    parts.push(arrow(prevX + R, ROW.h, x - R - 2, ROW.h, marker, 'W'));
    parts.push(label('W', undefined, { x: (prevX + x) / 2, y: ROW.h - 12, class: 'weight' }));
    parts.push(node('x', x, ROW.x, 'x', ix));
    parts.push(arrow(x, ROW.x - R, x, ROW.h + R + 2, marker, 'U'));
    parts.push(label('U', undefined, { x: x - 12, y: (ROW.x + ROW.h) / 2, class: 'weight' }));
    parts.push(node('h', x, ROW.h, 'h', ix, { 'data-t': t }));
    if (perStep || t === last) {
      parts.push(arrow(x, ROW.h - R, x, ROW.y + R + 2, marker, 'V'));
      parts.push(label('V', undefined, { x: x - 12, y: (ROW.h + ROW.y) / 2, class: 'weight' }));
      parts.push(node('y', x, ROW.y, 'y', ix));
    }
    prevX = x;
  });
  const tree = el('svg', { viewBox: `0 0 ${Math.ceil(width)} ${HEIGHT}`, class: 'unrolled', role: 'img' }, [
    el('title', {}, `The network unrolled over T = ${shape.T} steps`),
    ...parts,
  ]);
  return { tree, steps, width: Math.ceil(width), height: HEIGHT };
}

/** The folded network: x → h, the recurrence W as a loop on h, h → y. @param {string} [idPrefix] */
export function folded(idPrefix = 'fold') {
  const marker = `${idPrefix}-arrow`;
  const x = 60;
  const loop = `M ${x + R * 0.7} ${ROW.h - R * 0.7} C ${x + 80} ${ROW.h - 60}, ${x + 80} ${ROW.h + 60}, ${x + R * 0.7} ${ROW.h + R * 0.7}`;
  return el('svg', { viewBox: `0 0 150 ${HEIGHT}`, class: 'folded', role: 'img' }, [
    el('title', {}, 'The network folded: one cell applied at every step'),
    defs(marker),
    node('x', x, ROW.x, 'x', 't'),
    arrow(x, ROW.x - R, x, ROW.h + R + 2, marker, 'U'),
    label('U', undefined, { x: x - 12, y: (ROW.x + ROW.h) / 2, class: 'weight' }),
    node('h', x, ROW.h, 'h', 't'),
    el('path', { d: loop, class: 'arrow W', fill: 'none', 'marker-end': `url(#${marker})` }),
    label('W', undefined, { x: x + 72, y: ROW.h, class: 'weight' }),
    arrow(x, ROW.h - R, x, ROW.y + R + 2, marker, 'V'),
    label('V', undefined, { x: x - 12, y: (ROW.h + ROW.y) / 2, class: 'weight' }),
    node('y', x, ROW.y, 'y', 't'),
  ]);
}

const SUP = '⁰¹²³⁴⁵⁶⁷⁸⁹';
/** 32 → ³² @param {number | null | undefined} n */
export function sup(n) {
  if (n === null || n === undefined) return '^?';
  return String(n)
    .split('')
    .map((c) => SUP[Number(c)] ?? c)
    .join('');
}

/** The equations and shapes under the drawing, as lines of text. @param {NetShape} s */
export function legend(s) {
  const act = s.activation ?? 'tanh';
  const q = (/** @type {number | null | undefined} */ n) => (n === null || n === undefined ? '?' : String(n));
  const readout =
    s.readout === 'all'
      ? 'y_t = softmax(V h_t + b_V) at every step'
      : `y = softmax(V h_${s.T - 1} + b_V), once per sequence`;
  return [
    `h_t = ${act}(U x_t + W h_{t−1} + b_W), h_{−1} = 0; ${readout}`,
    `x_t ∈ ℝ${sup(s.d)}, h_t ∈ ℝ${sup(s.H)}, y ∈ ℝ${sup(s.C)}; U: ${q(s.H)}×${q(s.d)}, W: ${q(s.H)}×${q(s.H)}, V: ${q(s.C)}×${q(s.H)}; T = ${s.T}`,
  ];
}

/** Builds real SVG elements from a tree. @param {SvgNode} n @param {Document} doc @returns {Element} */
export function toDom(n, doc) {
  const e = doc.createElementNS('http://www.w3.org/2000/svg', n.tag);
  for (const [k, v] of Object.entries(n.attrs ?? {})) e.setAttribute(k, String(v));
  if (n.text !== undefined) e.textContent = n.text;
  for (const c of n.children ?? []) e.appendChild(toDom(c, doc));
  return e;
}
