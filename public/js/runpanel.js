// The selected run: its header (status, progress, socket state), the live charts, both heatmaps and the
// drawing of its network. Frames only update RunData; drawing happens once per animation frame.
import { eventsUrl } from './api.js';
import { gradChart, lossChart } from './charts.js';
import { diverging, viridis } from './colormap.js';
import { FINAL, RunEvents } from './events.js';
import { formatPercent, formatStep, formatValue } from './format.js';
import { frameScheduler } from './frame.js';
import { Heatmap } from './heatmap.js';
import { NetView } from './netview.js';
import { hiddenScale, logScale, paintMatrix, paintSteps } from './paint.js';
import { RunData, shapeOf } from './rundata.js';
import { applyHistory, exportUrl, openHistory } from './runhistory.js';
import { progressOf, setBar, stepText, syncListItem } from './runlist.js';
import { Scrubber } from './scrubber.js';

/** Page Up / Page Down on the slider: this many snapshots. */
const SCRUB_PAGE = 10;

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const CONN_TEXT = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  ended: 'complete',
  stopped: '',
};

export class RunPanel {
  /** @param {{onEnded: (id: string) => void, onReconnecting: (id: string) => void}} hooks */
  constructor(hooks) {
    this.hooks = hooks;
    this.root = $('run');
    this.loss = lossChart($('plot-loss'));
    /** @type {import('./charts.js').LiveChart | null} */
    this.grads = null;
    this.gradKeys = '';
    this.dhMap = new Heatmap(/** @type {HTMLCanvasElement} */ ($('heat-dh')));
    this.hiddenMap = new Heatmap(/** @type {HTMLCanvasElement} */ ($('heat-hidden')));
    this.schedule = frameScheduler(() => this.draw());
    this.data = new RunData();
    /** @type {any} */ this.run = null;
    /** @type {RunEvents | null} */ this.events = null;
    this.net = new NetView($('net'));
    this.dhColumn = new Heatmap(/** @type {HTMLCanvasElement} */ ($('heat-dhcol')));
    /** The snapshot the slider shows, or null for the latest. @type {import('./scrubber.js').Snapshot | null} */
    this.scrubbed = null;
    /** What the charts and the dL/dh_t heatmap last drew, so that a redraw for the scrubber skips them. */
    /** @type {{data: RunData | null, lines: string, dhData: RunData | null, dh: string}} */
    this.drawn = { data: null, lines: '', dhData: null, dh: '' };
    /** @type {{snap: object, scale: import('./paint.js').Scale} | null} */
    this.scaleOf = null;
    /** What header() last wrote. */
    this.headerKey = '';
    const slider = /** @type {HTMLInputElement} */ ($('scrub'));
    this.scrubber = new Scrubber(slider, (snap) => {
      this.scrubbed = snap;
      // the user's own input: drawn in the next frame, not held back by the scheduler's share
      this.schedule.mark({ prompt: true });
    });
    slider.addEventListener('keydown', (ev) => {
      if (ev.key !== 'PageUp' && ev.key !== 'PageDown') return;
      ev.preventDefault();
      const to = Number(slider.value) + (ev.key === 'PageUp' ? SCRUB_PAGE : -SCRUB_PAGE);
      slider.value = String(Math.min(Number(slider.max), Math.max(0, to)));
      slider.dispatchEvent(new Event('input'));
    });
    $('scrub-latest').addEventListener('click', () => {
      slider.value = slider.max;
      this.scrubbed = null;
      this.scrubber.wanted = -1;
      this.schedule.mark();
    });
    /** The event socket as last reported: written to the dataset by draw(). */
    this.socket = { state: 'stopped', connects: 0, since: -1 };
    new ResizeObserver(() => this.schedule.mark()).observe(this.root);
  }

  get id() {
    return this.run?.id ?? null;
  }

  /** Follows another run, from its first event. @param {any} run GET /v1/runs/:id */
  show(run) {
    this.events?.stop();
    this.run = run;
    this.data = new RunData();
    this.net.reset();
    this.scrubbed = null;
    this.root.hidden = false;
    this.root.dataset.runId = run.id;
    this.root.dataset.opened = '';
    // the export links are made here: they only exist for a run (the page's HTML links only its own files)
    $('run-exports').replaceChildren(
      ...[
        ['csv', 'run-csv', 'Export CSV'],
        ['jsonl', 'run-jsonl', 'Export JSON Lines'],
      ].map(([format, id, text]) => {
        const a = document.createElement('a');
        a.id = id;
        a.className = 'button';
        a.href = exportUrl(run.id, /** @type {'csv' | 'jsonl'} */ (format));
        a.download = '';
        a.textContent = text;
        return a;
      }),
    );
    const data = this.data;
    const t0 = performance.now();
    this.events = null;
    // the recorded history in one answer, downsampled on the server; then the socket for the rest
    openHistory(run).then(
      (h) => {
        if (this.data !== data) return;
        applyHistory(data, h);
        this.root.dataset.opened = 'history';
        this.root.dataset.openMs = (performance.now() - t0).toFixed(0);
        this.follow(run, data, data.lastStep, data.hidden?.step ?? -1);
      },
      (err) => {
        // a server without the history route: replay the log frame by frame
        console.warn(err);
        if (this.data !== data) return;
        this.root.dataset.opened = 'replay';
        this.follow(run, data, -1, -1);
      },
    );
    this.schedule.mark();
  }

  /**
   * The event socket from a resume point on. @param {any} run @param {RunData} data
   * @param {number} since the last step already shown @param {number} hiddenSince the last snapshot shown
   */
  follow(run, data, since, hiddenSince) {
    const events = new RunEvents({
      url: (since) => eventsUrl(run.id, since),
      onFrame: (f) => {
        if (this.data !== data) return;
        if (data.apply(f)) this.schedule.mark();
        if (f.event === 'status' && events.state === 'ended') this.hooks.onEnded(run.id);
      },
      onState: (state, d) => {
        const el = $('run-conn');
        el.textContent =
          state === 'reconnecting' ? `reconnecting in ${((d.delayMs ?? 0) / 1000).toFixed(1)} s…` : CONN_TEXT[state];
        el.dataset.state = state;
        this.socket = { state, connects: d.connects, since: d.since };
        this.schedule.mark();
        if (state === 'ended') this.hooks.onEnded(run.id);
        if (state === 'reconnecting') this.hooks.onReconnecting(run.id);
      },
    });
    events.lastStep = since;
    events.lastHidden = hiddenSince;
    this.events = events;
    events.start();
    this.schedule.mark();
  }

  /** What the panel shows of the run on show, for its item in the list: progress and status. */
  live() {
    if (!this.run) return null;
    const d = this.data;
    return { ...this.progress(), status: d.status && this.run.status !== 'queued' ? d.status : this.run.status };
  }

  progress() {
    return progressOf(this.run, this.data.lastStep);
  }

  /** The run as the list last saw it (status, step, metrics). @param {any} run */
  update(run) {
    if (run.id !== this.id) return;
    this.run = { ...this.run, ...run };
    // the header now, not at the next frame: the run list is drawn from the same progress right after this
    this.header();
    this.schedule.mark();
  }

  hide() {
    this.events?.stop();
    this.events = null;
    this.run = null;
    this.root.hidden = true;
  }

  draw() {
    if (!this.run) return;
    const t0 = performance.now();
    this.header();
    this.lines();
    this.scrub();
    this.heatmaps();
    this.network();
    // what tools (the browser tests, the bench) read, all written by the same draw so that they agree
    Object.assign(this.root.dataset, {
      socket: this.socket.state,
      connects: String(this.socket.connects),
      since: String(this.socket.since),
    });
    this.root.dataset.lastStep = String(this.data.lastStep);
    this.root.dataset.frames = String(this.data.frames);
    this.root.dataset.steps = String(this.data.covered);
    this.root.dataset.skippedSteps = String(this.events?.skippedSteps ?? 0);
    this.root.dataset.draws = String(this.schedule.draws);
    // for `npm run bench:dashboard`: what one redraw costs with the history as it is
    this.root.dataset.drawMs = (performance.now() - t0).toFixed(2);
  }

  header() {
    const run = this.run;
    const d = this.data;
    const status = d.status && run.status !== 'queued' ? d.status : run.status;
    const p = this.progress();
    const snap = d.metrics.snapshot();
    const last = snap.rows - 1;
    const facts = {
      loss: last >= 0 ? `${formatValue(snap.values[last * 2])} nats` : '–',
      accuracy: last >= 0 ? formatPercent(snap.values[last * 2 + 1]) : '–',
      task: run.task ?? 'inline data',
      'frames received': String(d.frames),
      'skipped by the server': String(this.events?.skipped ?? 0),
      reconnects: String(Math.max(0, (this.events?.connects ?? 1) - 1)),
      ...(run.evaluation
        ? { 'held-out accuracy': `${formatPercent(run.evaluation.accuracy)} of ${run.evaluation.size}` }
        : {}),
      ...(run.modelId ? { 'trained model': run.modelId } : {}),
      ...(run.reason || d.reason ? { reason: run.reason ?? d.reason } : {}),
    };
    // unchanged (a redraw for the scrubber): no DOM writes, so nothing for the frame to lay out again
    const key = JSON.stringify([run.id, run.name, status, p, facts]);
    if (key === this.headerKey) return;
    this.headerKey = key;
    $('run-title').textContent = run.name || run.task || run.id;
    const badge = $('run-status');
    badge.textContent = status;
    badge.dataset.status = status;
    setBar(/** @type {HTMLProgressElement} */ ($('run-progress')), p);
    $('run-step').textContent = `step ${stepText(p)}`;
    syncListItem(run.id, p, status);
    const dl = $('run-facts');
    dl.replaceChildren(
      ...Object.entries(facts).flatMap(([k, v]) => {
        const dt = document.createElement('dt');
        dt.textContent = k;
        const dd = document.createElement('dd');
        dd.textContent = v;
        return [dt, dd];
      }),
    );
    /** @type {HTMLButtonElement} */ ($('run-cancel')).disabled = !(status === 'queued' || status === 'running');
  }

  lines() {
    const m = this.data.metrics;
    // a redraw for the scrubber alone leaves the charts as they are (uPlot redraws itself on a resize)
    const linesKey = `${m.count}:${this.data.grads?.count ?? 0}`;
    if (this.drawn.data === this.data && this.drawn.lines === linesKey) return;
    this.drawn.lines = linesKey;
    this.drawn.data = this.data;
    const x = Array.from(m.snapshot().x);
    this.loss.update([x, m.series(0), m.series(1).map((v) => (v === null ? null : v * 100))]);
    const g = this.data.grads;
    if (!g) return;
    const key = this.data.gradKeys.join();
    if (!this.grads || key !== this.gradKeys) {
      $('plot-grad').replaceChildren();
      this.grads = gradChart($('plot-grad'), this.data.gradKeys);
      this.gradKeys = key;
    }
    this.grads.update([Array.from(g.snapshot().x), ...this.data.gradKeys.map((_, i) => g.series(i))]);
  }

  heatmaps() {
    const dh = this.data.dh;
    const dhKey = `${dh?.count}:${dh?.width}:${this.dhMap.width}:${this.dhMap.height}`;
    if (dh?.rows && (this.drawn.dhData !== this.data || this.drawn.dh !== dhKey)) {
      this.drawn.dh = dhKey;
      this.drawn.dhData = this.data;
      const snap = dh.snapshot();
      const s0 = snap.lo[0];
      const s1 = snap.hi[snap.rows - 1];
      const scale = this.dhScale();
      this.dhMap.draw({
        cols: 'plot',
        rows: snap.width,
        paint: (img, cols) => paintSteps(img, cols, snap, s0, s1, scale, viridis),
        x: { label: 'training step', min: s0, max: s1 + 1, format: formatStep },
        y: { label: 'timestep t', min: 0, max: snap.width - 1, cells: true },
        bar: { table: viridis, lo: scale.lo, hi: scale.hi, log: true, label: '‖dL/dh_t‖' },
      });
    }
    const hid = this.scrubbed ?? this.data.hidden;
    const canvas = /** @type {HTMLCanvasElement} */ ($('heat-hidden'));
    if (hid?.h.length && canvas.dataset.step !== String(hid.step)) {
      const T = hid.h.length;
      const H = hid.h[0].length;
      const scale = hiddenScale(hid.h.flat(), this.shape()?.activation);
      const table = scale.signed ? diverging : viridis;
      this.hiddenMap.draw({
        cols: H,
        rows: T,
        paint: (img) => paintMatrix(img, hid.h, scale, table),
        x: { label: 'hidden unit j', min: 0, max: H - 1, cells: true },
        y: { label: 'timestep t', min: 0, max: T - 1, cells: true },
        bar: { table, lo: scale.lo, hi: scale.hi, label: 'h_t[j]' },
      });
      $('hidden-caption').textContent =
        `Hidden state h_t of the probe sequence at step ${formatStep(hid.step)} (T × H = ${T} × ${H})`;
      // what the browser tests compare with the recorded snapshot
      canvas.dataset.step = String(hid.step);
      canvas.dataset.matrix = JSON.stringify(hid.h);
    }
  }

  /** The slider's range (the snapshots so far), and the dL/dh_t column of the step it shows. */
  scrub() {
    const d = this.data;
    const every = d.hiddenEvery;
    if (!this.run || !every) return;
    const lastHidden = Math.max(d.hidden?.step ?? -1, d.lastHidden ?? -1);
    this.scrubber.live = !FINAL.has(d.status ?? this.run.status);
    this.scrubber.reset(this.run.id, every, d.lastStep, lastHidden >= 0 ? lastHidden : null);
    const snap = this.scrubbed;
    const fig = $('fig-scrub');
    const step = snap?.step ?? d.hidden?.step ?? null;
    $('scrub-step').textContent = step === null ? '' : `step ${formatStep(step)}${snap ? '' : ' (latest)'}`;
    fig.dataset.step = step === null ? '' : String(step);
    fig.dataset.snapshots = String(this.scrubber.steps.count);
    fig.dataset.fetches = String(this.scrubber.fetches);
    const profile = snap ? snap.dhNorm : this.data.latestProfile();
    if (!profile?.length) return;
    const dh = this.data.dh;
    const scale = dh?.rows ? this.dhScale() : logScale(Float64Array.from(profile));
    const T = profile.length;
    this.dhColumn.draw({
      cols: 1,
      rows: T,
      paint: (img) =>
        paintSteps(
          img,
          1,
          {
            rows: 1,
            width: T,
            x: new Float64Array(1),
            lo: new Float64Array(1),
            hi: new Float64Array(1),
            values: Float64Array.from(profile),
          },
          0,
          0,
          scale,
          viridis,
        ),
      x: { label: '', min: 0, max: 0, cells: true, format: () => '' },
      y: { label: 'timestep t', min: 0, max: T - 1, cells: true },
      bar: { table: viridis, lo: scale.lo, hi: scale.hi, log: true, label: '‖dL/dh_t‖' },
    });
    fig.dataset.profile = JSON.stringify(Array.from(profile));
  }

  /**
   * The dL/dh_t history's log colour range, shared by the heatmap, the scrubbed column and the network's
   * tint: computed once per state of the history (its snapshot is cached until it changes), not once per
   * redraw of each (log10 of every value: most of a scrub frame's script before).
   */
  dhScale() {
    const snap = /** @type {NonNullable<RunData['dh']>} */ (this.data.dh).snapshot();
    if (this.scaleOf?.snap !== snap) this.scaleOf = { snap, scale: logScale(snap.values) };
    return this.scaleOf.scale;
  }

  shape() {
    return this.run ? shapeOf(this.run) : null;
  }

  network() {
    const shape = this.shape();
    if (!shape) return;
    this.net.render(shape);
    const profile = this.scrubbed?.dhNorm ?? this.data.latestProfile();
    const dh = this.data.dh;
    if (profile && dh?.rows) this.net.tint(profile, this.dhScale());
  }
}
