// Redraw at most once per animation frame, and leave the main thread to the socket when it is busy: any
// number of frames from the socket mark the view dirty, and a requestAnimationFrame callback draws the
// latest state, unless (1) drawing again would take more than DUTY of the time, or (2) the page is catching
// up (a replay: updates arriving faster than CATCHUP.rate a second), when it draws every CATCHUP.ms. A
// 100k-step replay then draws a few times a second instead of 60, and reads its socket that much faster.
// A mark for the user's own input (dragging the scrubber) is drawn in the next frame whatever the duty: the
// share exists to leave the thread to a flood of frames, not to drop the frames of a drag.

/** The largest share of the main thread that redrawing itself may take. */
export const DUTY = 0.25;
/** Catching up: updates faster than `rate` a second mean a backlog (live training sends fewer); draw every `ms`. */
export const CATCHUP = { rate: 2000, ms: 250 };

/**
 * @param {() => void} draw
 * @param {object} [opts]
 * @param {(cb: () => void) => unknown} [opts.raf]
 * @param {() => number} [opts.now] milliseconds
 * @param {number} [opts.duty]
 * @param {{rate: number, ms: number}} [opts.catchup]
 */
export function frameScheduler(draw, opts = {}) {
  const raf = opts.raf ?? ((cb) => globalThis.requestAnimationFrame(cb));
  const now = opts.now ?? (() => performance.now());
  const duty = opts.duty ?? DUTY;
  const catchup = opts.catchup ?? CATCHUP;
  let pending = false;
  let draws = 0;
  let marks = 0;
  let last = Number.NEGATIVE_INFINITY;
  let earliest = Number.NEGATIVE_INFINITY;
  let prompt = false;
  const tick = () => {
    const t = now();
    // too soon after the last draw: look again next frame, still pending
    const backlog = marks * 1000 > catchup.rate * (t - last);
    if (!prompt && (t < earliest || (backlog && t < last + catchup.ms))) return void raf(tick);
    pending = false;
    prompt = false;
    marks = 0;
    draws++;
    last = t;
    draw();
    earliest = t + (now() - t) / duty;
  };
  return {
    /**
     * Asks for a redraw; a request while one is pending changes nothing, except that a prompt one (input)
     * makes the pending redraw happen in the next frame.
     * @param {{prompt?: boolean}} [o]
     */
    mark(o) {
      if (o?.prompt) prompt = true;
      marks++;
      if (pending) return;
      pending = true;
      raf(tick);
    },
    get pending() {
      return pending;
    },
    get draws() {
      return draws;
    },
  };
}
