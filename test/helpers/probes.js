// Functions the browser tests and the dashboard bench run inside the page (page.evaluate, waitForFunction):
// they read the data attributes the page keeps about itself. Plain JS typechecked with the DOM by
// tsconfig.web.json, so that the Node-side TypeScript never needs the DOM's types. Playwright sends each
// function's source to the page, so each one is self-contained: no helper from this module's scope.

/** The selected run as the page shows it. */
export function runState() {
  /** @param {string} id @param {string} key */
  const num = (id, key) => Number(document.getElementById(id)?.dataset[key] ?? Number.NaN);
  const run = /** @type {HTMLElement} */ (document.getElementById('run')).dataset;
  return {
    runId: run.runId ?? null,
    socket: run.socket ?? null,
    connects: Number(run.connects),
    since: Number(run.since),
    lastStep: Number(run.lastStep),
    frames: Number(run.frames),
    /** distinct steps received, and steps the server said it skipped for this slow reader */
    steps: Number(run.steps),
    skippedSteps: Number(run.skippedSteps),
    draws: Number(run.draws),
    drawMs: Number(run.drawMs),
    lossPoints: num('plot-loss', 'points'),
    gradPoints: num('plot-grad', 'points'),
    dhCells: num('heat-dh', 'cells'),
    hiddenCells: num('heat-hidden', 'cells'),
    status: document.getElementById('run-status')?.textContent ?? null,
    stepText: document.getElementById('run-step')?.textContent ?? null,
    conn: document.getElementById('run-conn')?.textContent ?? null,
  };
}

/** @param {number} step */
export function reachedStep(step) {
  return Number(document.getElementById('run')?.dataset.lastStep) >= step;
}

/** @param {number} n */
export function lossPointsAtLeast(n) {
  return Number(document.getElementById('plot-loss')?.dataset.points) >= n;
}

export function hiddenDrawn() {
  return Number(document.getElementById('heat-hidden')?.dataset.cells) > 0;
}

/** The run's socket has ended (a final status, then the server's normal close). */
export function socketEnded() {
  return document.getElementById('run')?.dataset.socket === 'ended';
}

/** @param {number} step the last step seen before the socket was cut */
export function resumedAfter(step) {
  const run = /** @type {HTMLElement} */ (document.getElementById('run')).dataset;
  return run.connects === '2' && run.socket === 'live' && Number(run.lastStep) > step;
}

/** @param {[string, string]} idAndStatus a run id and the status its list item should show */
export function listedAs([id, status]) {
  return document.querySelector(`.run-item[data-id="${id}"]`)?.getAttribute('data-status') === status;
}

/** Distinct opaque colours in a canvas: a drawn heatmap has many, a blank one none. @param {string} id */
export function canvasColours(id) {
  const c = /** @type {HTMLCanvasElement} */ (document.getElementById(id));
  const px = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d')).getImageData(0, 0, c.width, c.height).data;
  const seen = new Set();
  for (let i = 0; i < px.length; i += 4) if (px[i + 3] === 255) seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
  return seen.size;
}

/** Where the main blocks sit, and whether the page scrolls sideways. */
export function layout() {
  /** @param {string} id */
  const box = (id) => /** @type {HTMLElement} */ (document.getElementById(id)).getBoundingClientRect();
  return {
    scrollWidth: document.documentElement.scrollWidth,
    formRight: box('run-form').right,
    runLeft: box('run').left,
    lossLeft: box('fig-loss').left,
    lossBottom: box('fig-loss').bottom,
    gradLeft: box('fig-grad').left,
    gradTop: box('fig-grad').top,
  };
}

/** The bare event socket, for scale: receive and parse `frames` frames of a run, in ms. @param {[string, number]} args */
export function bareSocketMs([id, frames]) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let n = 0;
    const ws = new WebSocket(`ws://${location.host}/v1/runs/${id}/events`);
    ws.onmessage = (e) => {
      JSON.parse(e.data);
      if (++n < frames) return;
      ws.close();
      resolve(performance.now() - t0);
    };
  });
}

/** @param {string} id */
export function selectRun(id) {
  location.hash = `run=${id}`;
}

/** The API token the page keeps (api.js's storage key). */
export function storedToken() {
  return localStorage.getItem('unroll.token');
}

export function forgetToken() {
  localStorage.clear();
}

/** The run opened from its history with the charts and the dL/dh_t heatmap drawn. */
export function openedFromHistory() {
  return (
    document.getElementById('run')?.dataset.opened === 'history' &&
    Number(document.getElementById('plot-loss')?.dataset.points) > 0 &&
    Number(document.getElementById('heat-dh')?.dataset.cells) > 0
  );
}

/** @param {number} step the profile chart's first run is drawn at this step */
export function profileAt(step) {
  return JSON.parse(document.getElementById('fig-cmp-profile')?.dataset.profile ?? '[]')[0]?.step === step;
}

/** The background colours of the elements a selector matches, in order. @param {string} selector */
export function colours(selector) {
  return [...document.querySelectorAll(selector)].map((e) => getComputedStyle(e).backgroundColor);
}

/** @param {string} hash */
export function goHash(hash) {
  location.hash = hash;
}

/** The selected run's data attributes. */
export function runDataset() {
  return { .../** @type {HTMLElement} */ (document.getElementById('run')).dataset };
}

/** The run list's progress for a run and the run panel's, read in one go. @param {string} id */
export function progressPair(id) {
  const item = document.querySelector(`#runs .run-item[data-id="${id}"]`);
  const panelBar = /** @type {HTMLProgressElement} */ (document.getElementById('run-progress'));
  const listBar = /** @type {HTMLProgressElement | null | undefined} */ (item?.querySelector('progress'));
  return {
    panel: { text: document.getElementById('run-step')?.textContent, value: panelBar.value },
    list: { text: `step ${item?.querySelector('.step')?.textContent}`, value: listBar?.value },
    name: item?.querySelector('.name')?.textContent,
  };
}

/** The smallest label sizes of the unrolled drawing as drawn: CSS font size times the drawing's scale. */
export function labelSizes() {
  const svg = /** @type {SVGSVGElement} */ (document.querySelector('#net svg.unrolled'));
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  /** @param {string} sel */
  const size = (sel) =>
    Math.min(...[...svg.querySelectorAll(sel)].map((e) => Number.parseFloat(getComputedStyle(e).fontSize) * scale));
  return {
    node: size('.node.h text'),
    weight: size('.weight'),
    svgRight: svg.getBoundingClientRect().right,
    viewport: document.documentElement.clientWidth,
  };
}

/**
 * Drags the scrubber over `n` snapshots from `first`, one a frame as a pointer drag delivers them (the
 * slider moves in a frame's rAF callback, the panel draws it in the next frame), and times every frame of
 * the drag. `work`: from the frame's start (its rAF timestamp) to the end of its rendering (rAF callbacks,
 * style, layout, paint; a message posted from the frame's last rAF callback runs after them). `interval`:
 * from one frame's start to the next, so a frame the page made late, or a task between frames, shows too.
 * `late`: frames whose hidden-state heatmap did not yet show the snapshot asked for in the frame before (not
 * in memory yet), and `lateAt` the drag's index of each. `longTasks`: tasks of 50 ms or more during the drag.
 * @param {[number, number, number]} args the first snapshot, how many, and the run's hiddenEvery
 * @returns {Promise<{work: number[], interval: number[], draw: number[], late: number, lateAt: number[], fetches: number, longTasks: number[]}>}
 */
export function scrubDrag([first, n, every]) {
  const slider = /** @type {HTMLInputElement} */ (document.getElementById('scrub'));
  const run = /** @type {HTMLElement} */ (document.getElementById('run'));
  const fig = /** @type {HTMLElement} */ (document.getElementById('fig-scrub'));
  const heat = /** @type {HTMLElement} */ (document.getElementById('heat-hidden'));
  /** @type {number[]} */ const work = [];
  /** @type {number[]} */ const interval = [];
  /** @type {number[]} */ const draw = [];
  /** @type {number[]} */ const longTasks = [];
  const fetches0 = Number(fig.dataset.fetches);
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) longTasks.push(e.duration);
  });
  observer.observe({ type: 'longtask' });
  const channel = new MessageChannel();
  let start = 0;
  channel.port1.onmessage = () => work.push(performance.now() - start);
  return new Promise((resolve) => {
    let i = 0;
    /** @type {number[]} */ const lateAt = [];
    /** @type {string | null} */ let asked = null;
    let draws = Number(run.dataset.draws);
    /** @param {number} ts */
    const frame = (ts) => {
      if (i > 0) interval.push(ts - start);
      start = ts;
      if (asked !== null) {
        if (heat.dataset.step !== asked) lateAt.push(i - 1);
        // the panel's own measure of its redraw, when it drew in this frame
        if (Number(run.dataset.draws) !== draws) draw.push(Number(run.dataset.drawMs));
        draws = Number(run.dataset.draws);
      }
      if (i > n) {
        channel.port1.close();
        observer.disconnect();
        // the last frame's work is measured by the message posted from the one before
        return resolve({
          work,
          interval,
          draw,
          late: lateAt.length,
          lateAt,
          fetches: Number(fig.dataset.fetches) - fetches0,
          longTasks,
        });
      }
      if (i > 0) channel.port2.postMessage(0);
      if (i < n) {
        slider.value = String(first + i);
        slider.dispatchEvent(new Event('input'));
        asked = slider.value === slider.max ? null : String((first + i) * every);
      }
      i++;
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
}

/**
 * A chart's canvas as the page encodes it to PNG (the uPlot canvas inside a plot, or a heatmap's own), with
 * its size in device pixels. @param {string} id
 * @returns {Promise<{width: number, height: number, base64: string}>}
 */
export function canvasPng(id) {
  const host = document.getElementById(id);
  const canvas = /** @type {HTMLCanvasElement} */ (
    host instanceof HTMLCanvasElement ? host : host?.querySelector('canvas')
  );
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => {
      if (!blob) return reject(new Error(`no PNG of ${id}`));
      const reader = new FileReader();
      reader.onload = () =>
        resolve({
          width: canvas.width,
          height: canvas.height,
          base64: String(reader.result).replace(/^data:image\/png;base64,/, ''),
        });
      reader.readAsDataURL(blob);
    }, 'image/png'),
  );
}

/** The run list holds at least `n` runs that can be ticked for a comparison. @param {number} n */
export function picksAtLeast(n) {
  return document.querySelectorAll('#runs .pick').length >= n;
}

/** The page's address after the #. */
export function hash() {
  return location.hash;
}

/** @param {string} text */
export function hashIncludes(text) {
  return location.hash.includes(text);
}

/** The colours of a uPlot chart's lines, as its legend's markers show them (a marker's border is its line's stroke). @param {string} id */
export function lineColours(id) {
  return [...document.querySelectorAll(`#${id} .u-legend .u-series:not(:first-child) .u-marker`)].map(
    (e) => getComputedStyle(e).borderTopColor,
  );
}
