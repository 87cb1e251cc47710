// One run in the list: its name, status badge, and progress, linking to #run=<id>. The selected run's
// progress and status come from the same place as the run panel's (progressOf, and the panel calls
// syncListItem at each draw), so the list never lags the panel.
import { formatStep } from './format.js';

/**
 * A run's progress: the step the server last reported, or further when the event socket has seen more.
 * @param {any} run GET /v1/runs's item @param {number} [lastStep] the last step frame seen (−1: none)
 */
export function progressOf(run, lastStep = -1) {
  const steps = run.steps ?? 0;
  return { done: Math.min(Math.max(run.step ?? 0, lastStep + 1), steps || Number.POSITIVE_INFINITY), steps };
}

/** @param {HTMLProgressElement} bar @param {{done: number, steps: number}} p */
export function setBar(bar, p) {
  bar.max = p.steps || 1;
  bar.value = Math.min(p.done, bar.max);
}

/** @param {{done: number, steps: number}} p */
export const stepText = (p) => `${formatStep(p.done)} / ${formatStep(p.steps)}`;

/**
 * The list item of the run on show, brought up to what the panel shows.
 * @param {string} id @param {{done: number, steps: number}} p @param {string} status
 */
export function syncListItem(id, p, status) {
  const li = document.querySelector(`#runs .run-item[data-id="${CSS.escape(id)}"]`);
  if (!li) return;
  const bar = /** @type {HTMLProgressElement | null} */ (li.querySelector('progress'));
  if (bar) setBar(bar, p);
  const step = li.querySelector('.step');
  if (step) step.textContent = stepText(p);
  const badge = /** @type {HTMLElement | null} */ (li.querySelector('.badge'));
  if (badge && badge.textContent !== status) {
    badge.textContent = status;
    badge.dataset.status = status;
    /** @type {HTMLElement} */ (li).dataset.status = status;
  }
}

/**
 * @param {any} run GET /v1/runs's item @param {string | null} selected the id of the run on show
 * @param {{done: number, steps: number, status: string} | null} [live] the panel's progress, for the selected run
 * @param {string | null} [colour] its colour in the comparison on show, when it is in it
 * @param {boolean} [full] the comparison holds as many runs as it may
 */
export function runItem(run, selected, live = null, colour = null, full = false) {
  const li = document.createElement('li');
  li.className = 'run-item';
  const pick = document.createElement('input');
  pick.type = 'checkbox';
  pick.className = 'pick';
  pick.dataset.id = run.id;
  pick.checked = colour !== null;
  pick.disabled = full && colour === null;
  pick.setAttribute('aria-label', `compare ${run.name || run.task || run.id}`);
  const swatch = document.createElement('span');
  swatch.className = 'swatch';
  // CSSOM, not a style attribute: the page's CSP allows no inline styles
  if (colour) swatch.style.setProperty('background', colour);
  li.append(pick, swatch);
  li.dataset.id = run.id;
  const status = (run.id === selected && live?.status) || run.status;
  li.dataset.status = status;
  if (run.id === selected) li.setAttribute('aria-current', 'true');
  const a = document.createElement('a');
  a.href = `#run=${run.id}`;
  const title = document.createElement('span');
  title.className = 'name';
  title.textContent = run.name || run.task || 'inline data';
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.dataset.status = status;
  badge.textContent = status;
  const p =
    run.id === selected && live
      ? { done: Math.max(live.done, progressOf(run).done), steps: live.steps }
      : progressOf(run);
  const progress = document.createElement('progress');
  setBar(progress, p);
  const step = document.createElement('span');
  step.className = 'step';
  step.textContent = stepText(p);
  a.append(title, badge, progress, step);
  li.append(a);
  return li;
}
