// One run in the list: its name, status badge, and progress, linking to #run=<id>.
import { formatStep } from './format.js';

/**
 * @param {any} run GET /v1/runs's item @param {string | null} selected the id of the run on show
 * @param {string | null} [colour] its colour in the comparison on show, when it is in it
 * @param {boolean} [full] the comparison holds as many runs as it may
 */
export function runItem(run, selected, colour = null, full = false) {
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
  li.dataset.status = run.status;
  if (run.id === selected) li.setAttribute('aria-current', 'true');
  const a = document.createElement('a');
  a.href = `#run=${run.id}`;
  const title = document.createElement('span');
  title.className = 'name';
  title.textContent = run.name || run.task || 'inline data';
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.dataset.status = run.status;
  badge.textContent = run.status;
  const progress = document.createElement('progress');
  progress.max = run.steps || 1;
  progress.value = Math.min(run.step ?? 0, progress.max);
  const step = document.createElement('span');
  step.className = 'step';
  step.textContent = `${formatStep(run.step ?? 0)} / ${formatStep(run.steps ?? 0)}`;
  a.append(title, badge, progress, step);
  li.append(a);
  return li;
}
