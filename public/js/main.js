// The dashboard's entry point: loads the tasks and stored models into the form, keeps the run list fresh,
// starts and cancels runs, and hands the selected run (kept in the URL as #run=<id>) to the RunPanel.
import { ApiError, api, getToken, setToken } from './api.js';
import { MAX_COMPARED, RUN_COLOURS } from './charts.js';
import { CompareView, comparedIds } from './compare.js';
import { fieldOf, runBody } from './runform.js';
import { runItem } from './runlist.js';
import { RunPanel } from './runpanel.js';

/** How often the run list is refreshed while the tab is visible. */
const LIST_EVERY_MS = 2000;
const RUNS_SHOWN = 50;

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const form = /** @type {HTMLFormElement} */ ($('run-form'));

/** @type {import('./runform.js').TaskInfo[]} */
let tasks = [];
const compare = new CompareView();
const panel = new RunPanel({ onEnded: () => void refreshRuns(), onReconnecting: (id) => void stillThere(id) });

/** While the socket reconnects: a run that is gone (deleted) is let go rather than retried forever. @param {string} id */
async function stillThere(id) {
  try {
    await api('GET', `/v1/runs/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && panel.id === id) location.hash = '';
  }
}

/** @param {unknown} err */
function report(err) {
  if (err instanceof ApiError && err.status === 401) {
    $('token-button').hidden = false;
    const dialog = /** @type {HTMLDialogElement} */ ($('token-dialog'));
    if (!dialog.open) dialog.showModal();
  }
  console.warn(err);
}

async function loadTasks() {
  tasks = (await api('GET', '/v1/tasks')).tasks;
  const select = /** @type {HTMLSelectElement} */ (form.elements.namedItem('task'));
  select.replaceChildren(...tasks.map((t) => new Option(t.name, t.name)));
  taskChanged();
}

async function loadModels() {
  const { models } = await api('GET', '/v1/models?limit=100');
  const select = /** @type {HTMLSelectElement} */ (form.elements.namedItem('model'));
  for (const o of [...select.options]) if (o.value.startsWith('stored:')) o.remove();
  for (const m of models) {
    const c = m.config;
    const label = `Stored: ${m.name ?? m.id.slice(0, 8)} (d=${c.inputSize}, H=${c.hiddenSize}, C=${c.outputSize}, ${c.activation ?? 'tanh'})`;
    select.add(new Option(label, `stored:${m.id}`));
  }
}

/** Placeholders show the chosen task's defaults; fields that do not apply hide. */
function taskChanged() {
  const f = new FormData(form);
  const task = tasks.find((t) => t.name === f.get('task'));
  if (!task) return;
  $('task-description').textContent = task.description;
  const d = task.defaults;
  const ph = {
    length: d.length,
    symbols: d.symbols,
    hiddenSize: d.hiddenSize,
    steps: d.steps,
    batchSize: d.batchSize,
    lr: d.optimizer?.lr,
    clipNorm: d.clipNorm,
  };
  for (const [k, v] of Object.entries(ph)) {
    const input = /** @type {HTMLInputElement | null} */ (form.elements.namedItem(k));
    if (input) input.placeholder = v === undefined || v === null ? '' : String(v);
  }
  for (const el of form.querySelectorAll('[data-task-only]')) {
    if (el instanceof HTMLElement) el.hidden = el.dataset.taskOnly !== task.name;
  }
  for (const el of form.querySelectorAll('[data-model-only]')) {
    if (el instanceof HTMLElement) el.hidden = el.dataset.modelOnly !== f.get('model');
  }
}

/** @param {{field: string, message: string}[]} errors */
function showErrors(errors, detail = '') {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const e of errors) {
    const field = form.elements.namedItem(e.field);
    if (field instanceof Element) field.setAttribute('aria-invalid', 'true');
  }
  const box = $('form-error');
  box.hidden = !errors.length && !detail;
  box.textContent = detail || errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}

async function submit(/** @type {SubmitEvent} */ ev) {
  ev.preventDefault();
  const fields = /** @type {Record<string, string>} */ (
    Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, String(v)]))
  );
  const { body, errors } = runBody(fields, tasks);
  showErrors(errors);
  if (errors.length) return;
  const button = /** @type {HTMLButtonElement} */ ($('start'));
  button.disabled = true;
  try {
    const created = await api('POST', '/v1/runs', body);
    location.hash = `run=${created.id}`;
    await refreshRuns();
  } catch (err) {
    if (err instanceof ApiError)
      showErrors(
        (err.issues ?? []).map((i) => ({ field: fieldOf(i.path), message: i.message })),
        err.message,
      );
    report(err);
  } finally {
    button.disabled = false;
  }
}

async function refreshRuns() {
  try {
    const { runs, total } = await api('GET', `/v1/runs?limit=${RUNS_SHOWN}`);
    for (const r of runs) if (r.id === panel.id) panel.update(r);
    const live = panel.live();
    const picked = comparedIds(location.hash);
    const full = picked.length >= MAX_COMPARED;
    $('runs').replaceChildren(
      ...runs.map((/** @type {any} */ r) => {
        const i = picked.indexOf(r.id);
        return runItem(r, panel.id, live, i >= 0 ? RUN_COLOURS[i] : null, full);
      }),
    );
    $('runs-count').textContent = total ? `(${total})` : '';
    $('runs-empty').hidden = runs.length > 0;
  } catch (err) {
    report(err);
  }
}

async function selectFromHash() {
  const picked = comparedIds(location.hash);
  if (picked.length) {
    panel.hide();
    $('run-empty').hidden = true;
    try {
      await compare.show(picked);
    } catch (err) {
      report(err);
    }
    return;
  }
  compare.hide();
  const id = new URLSearchParams(location.hash.slice(1)).get('run');
  $('run-empty').hidden = Boolean(id);
  if (!id) return panel.hide();
  if (id === panel.id) return;
  try {
    const run = await api('GET', `/v1/runs/${encodeURIComponent(id)}`);
    panel.show(run);
  } catch (err) {
    report(err);
    panel.hide();
    $('run-empty').hidden = false;
  }
  for (const li of $('runs').children)
    li.toggleAttribute('aria-current', /** @type {HTMLElement} */ (li).dataset.id === id);
}

$('run-cancel').addEventListener('click', async () => {
  if (!panel.id) return;
  try {
    panel.update(await api('POST', `/v1/runs/${encodeURIComponent(panel.id)}/cancel`));
  } catch (err) {
    report(err);
  }
  await refreshRuns();
});
$('token-button').addEventListener('click', () => /** @type {HTMLDialogElement} */ ($('token-dialog')).showModal());
$('token-dialog').addEventListener('close', () => {
  const dialog = /** @type {HTMLDialogElement} */ ($('token-dialog'));
  if (dialog.returnValue !== 'save') return;
  setToken(String(new FormData(/** @type {HTMLFormElement} */ ($('token-form'))).get('token') ?? ''));
  void boot();
});
// ticking a run adds it to the comparison in the address, in the order ticked (its colour follows its place)
$('runs').addEventListener('change', (ev) => {
  const box = ev.target;
  if (!(box instanceof HTMLInputElement) || !box.classList.contains('pick')) return;
  const id = String(box.dataset.id);
  const picked = comparedIds(location.hash).filter((x) => x !== id);
  if (box.checked) picked.push(id);
  location.hash = picked.length ? `compare=${picked.slice(0, MAX_COMPARED).join(',')}` : '';
  void refreshRuns();
});
// every chart saves as PNG: uPlot's canvas (series and axes), or the heatmap's own
document.addEventListener('click', (ev) => {
  const button = ev.target instanceof Element ? ev.target.closest('button.png') : null;
  if (!(button instanceof HTMLButtonElement)) return;
  const host = document.getElementById(String(button.dataset.png));
  const canvas = host instanceof HTMLCanvasElement ? host : host?.querySelector('canvas');
  if (!canvas) return;
  canvas.toBlob((blob) => {
    if (!blob) return;
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `unroll-${button.dataset.png}.png`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }, 'image/png');
});
form.addEventListener('change', taskChanged);
form.addEventListener('submit', submit);
addEventListener('hashchange', () => void selectFromHash());

async function boot() {
  $('token-button').hidden = !getToken();
  try {
    await Promise.all([loadTasks(), loadModels()]);
  } catch (err) {
    report(err);
  }
  await refreshRuns();
  await selectFromHash();
}

setInterval(() => {
  if (document.visibilityState === 'visible') void refreshRuns();
}, LIST_EVERY_MS);
void boot();
