// Redraw at most once per animation frame: any number of frames from the socket mark the view dirty, and
// one requestAnimationFrame callback draws the latest state.

/**
 * @param {() => void} draw
 * @param {(cb: () => void) => unknown} [raf]
 */
export function frameScheduler(draw, raf = (cb) => globalThis.requestAnimationFrame(cb)) {
  let pending = false;
  let draws = 0;
  return {
    /** Asks for a redraw; a request while one is pending changes nothing. */
    mark() {
      if (pending) return;
      pending = true;
      raf(() => {
        pending = false;
        draws++;
        draw();
      });
    },
    get pending() {
      return pending;
    },
    get draws() {
      return draws;
    },
  };
}
