// Every PyTorch reference case, through forward, bptt and jacobian, to 1e-9 relative.
import { describe, expect, it } from 'vitest';
import { bptt } from '../../src/core/bptt.js';
import { forward } from '../../src/core/elman.js';
import { JACOBIAN_KEYS, type JacobianKey, jacobian } from '../../src/core/jacobian.js';
import { PARAM_OF, WEIGHT_KEYS } from '../../src/core/model.js';
import { BACKENDS } from '../helpers/backends.js';
import { batchOf, flat, maxRelErr, modelOf, oracleCases } from '../helpers/oracle.js';

const TOL = 1e-9;
const cases = oracleCases();

describe.each(
  BACKENDS.flatMap((kernels) => cases.map((c) => ({ ...c, kernels, label: `${c.name} on ${kernels.name}` }))),
)('oracle case $label', (c) => {
  const { kernels } = c;
  const model = modelOf(c);
  const batch = batchOf(c);
  const targets = flat(c.request.targets);
  const e = c.expected;

  it('forward: h, logits, y, hT', () => {
    const f = forward(model, batch, { kernels });
    expect(maxRelErr(f.h, flat(e.h))).toBeLessThan(TOL);
    expect(maxRelErr(f.logits, flat(e.logits))).toBeLessThan(TOL);
    expect(maxRelErr(f.y, flat(e.y))).toBeLessThan(TOL);
    const hT = flat((e.h as number[][][]).map((seq) => seq[seq.length - 1]));
    expect(maxRelErr(f.hT, hT)).toBeLessThan(TOL);
  });

  it('bptt: loss, grads, dh, dx, dh0', () => {
    const r = bptt(model, batch, targets, { truncate: c.request.truncate, wantDx: true, kernels });
    expect(maxRelErr([r.loss], [e.loss as number])).toBeLessThan(TOL);
    for (const k of WEIGHT_KEYS) {
      expect(maxRelErr(r.grads[PARAM_OF[k]], flat(e.grads?.[k])), k).toBeLessThan(TOL);
    }
    if (e.dh) expect(maxRelErr(r.dh, flat(e.dh))).toBeLessThan(TOL);
    if (e.dx) expect(maxRelErr(r.dx!, flat(e.dx))).toBeLessThan(TOL);
    if (e.dh0) expect(maxRelErr(r.dh0, flat(e.dh0))).toBeLessThan(TOL);
  });

  it('bptt with h and dh skipped (da overwrites dh in place): loss, grads, dx, dh0', () => {
    const r = bptt(model, batch, targets, {
      truncate: c.request.truncate,
      wantDx: true,
      kernels,
      skip: ['h', 'dh'],
    });
    expect(r.dh).toHaveLength(0);
    expect(maxRelErr([r.loss], [e.loss as number])).toBeLessThan(TOL);
    for (const k of WEIGHT_KEYS) {
      expect(maxRelErr(r.grads[PARAM_OF[k]], flat(e.grads?.[k])), k).toBeLessThan(TOL);
    }
    if (e.dx) expect(maxRelErr(r.dx!, flat(e.dx))).toBeLessThan(TOL);
    if (e.dh0) expect(maxRelErr(r.dh0, flat(e.dh0))).toBeLessThan(TOL);
  });
});

describe.each(
  BACKENDS.flatMap((kernels) =>
    cases.filter((c) => c.expected.jacobian).map((c) => ({ ...c, kernels, label: `${c.name} on ${kernels.name}` })),
  ),
)('oracle jacobian $label', (c) => {
  it('dh_t/dθ for U.weight, W.weight, W.bias', () => {
    const model = modelOf(c);
    const batch = batchOf(c);
    for (const key of JACOBIAN_KEYS) {
      const want = flat(c.expected.jacobian?.[key]);
      expect(want.length, key).toBeGreaterThan(0);
      expect(maxRelErr(jacobian(model, batch, key as JacobianKey, { kernels: c.kernels }), want), key).toBeLessThan(
        TOL,
      );
    }
  });
});
