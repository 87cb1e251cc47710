// The network drawing on the page: rebuilt when the run's shape changes, and each h_t of the unrolled
// form tinted, every redraw, with the gradient reaching it at the latest step (the heatmap's colours).
import { css, lutIndex, viridis } from './colormap.js';
import { formatValue } from './format.js';
import { folded, legend, toDom, unrolled, windowFor } from './network.js';

/** viridis entries below this are dark enough to need a light label on top. */
const DARK_BELOW = 150;

export class NetView {
  /** @param {HTMLElement} host */
  constructor(host) {
    this.host = host;
    this.key = '';
    /** The width the card gives the drawing, as last laid out (read in a draw, it forced a layout). */
    /** @type {number | null} */ this.width = null;
    /** The unrolled drawing's h_t nodes, found once per drawing. @type {Element[]} */
    this.nodes = [];
    /** What tint() last painted. @type {{profile: ArrayLike<number>, lo: number, hi: number} | null} */
    this.tinted = null;
    new ResizeObserver(([e]) => {
      this.width = e.contentRect.width;
    }).observe(host);
  }

  /** @param {import('./network.js').NetShape} shape */
  render(shape) {
    // fewer steps on a narrow card, so that the labels stay readable (the width the card gives the drawing)
    this.width ??= this.host.clientWidth;
    const win = windowFor(shape.T, this.width || Number.POSITIVE_INFINITY);
    const key = JSON.stringify([shape, win]);
    if (key === this.key) return;
    this.key = key;
    const lines = legend(shape).map((text) => {
      const p = document.createElement('p');
      p.textContent = text;
      return p;
    });
    const pics = document.createElement('div');
    pics.className = 'net-pics';
    pics.append(toDom(folded('fold'), document), toDom(unrolled(shape, 'unroll', win).tree, document));
    this.host.replaceChildren(pics, ...lines);
    this.nodes = [...this.host.querySelectorAll('.unrolled .node.h')];
    this.tinted = null;
  }

  /** Forgets the drawing, so the next render draws afresh. */
  reset() {
    this.key = '';
    this.tinted = null;
  }

  /**
   * @param {ArrayLike<number>} profile ‖dL/dh_t‖ for t = 0..T−1 at the latest step
   * @param {{lo: number, hi: number}} scale log10 range, the heatmap's
   */
  tint(profile, scale) {
    // the same profile on the same scale (a redraw for something else): the tint stands
    if (this.tinted?.profile === profile && this.tinted.lo === scale.lo && this.tinted.hi === scale.hi) return;
    this.tinted = { profile, lo: scale.lo, hi: scale.hi };
    for (const g of this.nodes) {
      const v = profile[Number(g.getAttribute('data-t'))];
      if (!(v > 0)) continue;
      const i = lutIndex(Math.log10(v), scale.lo, scale.hi);
      // CSSOM, not a style attribute: the page's CSP allows no inline styles
      /** @type {SVGElement} */ (g.firstElementChild).style.setProperty('fill', css(viridis, i));
      g.classList.add('tinted');
      g.classList.toggle('dark', i < DARK_BELOW);
      g.setAttribute('data-dh', formatValue(v));
    }
  }
}
