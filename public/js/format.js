// Numbers for people: axis ticks at round values, steps as 12.5k, losses and norms with a sensible precision.

/**
 * Round tick values covering [min, max], about `count` of them (1, 2 or 5 times a power of ten apart).
 * @param {number} min @param {number} max @param {number} [count]
 */
export function niceTicks(min, max, count = 5) {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max < min) [min, max] = [max, min];
  if (max === min) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const unit = [1, 2, 5, 10].map((m) => m * mag).find((u) => u >= raw) ?? 10 * mag;
  const out = [];
  // multiples of the unit, rounded so that 3 × 0.1 prints as 0.3
  for (let k = Math.ceil(min / unit); k * unit <= max + unit * 1e-9; k++) out.push(Number((k * unit).toPrecision(12)));
  return out;
}

/** Integer ticks (timesteps, units): niceTicks on whole numbers only. @param {number} min @param {number} max @param {number} [count] */
export function intTicks(min, max, count = 5) {
  return [...new Set(niceTicks(min, max, count).map(Math.round))].filter((v) => v >= min && v <= max);
}

/** 950, 12.5k, 1.2M. @param {number} n */
export function formatStep(n) {
  const a = Math.abs(n);
  if (a >= 1e6) return `${trim((n / 1e6).toFixed(a >= 1e7 ? 0 : 1))}M`;
  if (a >= 1e4) return `${trim((n / 1e3).toFixed(a >= 1e5 ? 0 : 1))}k`;
  return String(Math.round(n));
}

/** Three significant digits, exponent form far from 1. @param {number | null | undefined} v */
export function formatValue(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(2).replace('e+', 'e');
  return trim(v.toPrecision(3));
}

/** 0.953 → "95.3 %". @param {number | null | undefined} v */
export function formatPercent(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return `${trim((v * 100).toFixed(1))} %`;
}

/** A power of ten for a log axis: 1e-3, 0.01, 0.1, 1, 10, 100, 1e3. @param {number} exponent */
export function formatPow10(exponent) {
  const e = Math.round(exponent);
  if (e >= -2 && e <= 2) return String(10 ** e);
  return `1e${e}`;
}

/** @param {string} s */
function trim(s) {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}
