// The plain-loop BPTT and Jacobian the mistake catalogue varies are, with nothing left out, the core's own
// results: so a mistake's value differs from the truth by exactly the step it leaves out.
import { describe, expect, it } from 'vitest';
import { JACOBIAN_KEYS, jacobian } from '../../src/core/jacobian.js';
import { PARAM_OF, WEIGHT_KEYS } from '../../src/core/model.js';
import { naiveBptt, naiveJacobian } from '../../src/grading/variants.js';
import { batchOf, problemOf, reference, SCALAR, SHEET_EX2 } from '../helpers/grading.js';
import { maxRelErr } from '../helpers/oracle.js';

const TOL = 1e-9;
const problems = [
  ['the sheet', problemOf(SHEET_EX2)],
  ['readout "all", relu', problemOf({ ...SHEET_EX2, steps: 5 }, { readout: 'all', activation: 'relu' })],
  ['a scalar network', problemOf(SCALAR)],
] as const;

describe.each(problems)('variants on %s', (_, p) => {
  it('naiveBptt with the activation derivative is BPTT', () => {
    const want = reference(p);
    const got = naiveBptt(p, { actDerivative: true });
    for (const k of WEIGHT_KEYS)
      expect(maxRelErr(got.grads[PARAM_OF[k]], want.grads[PARAM_OF[k]]), k).toBeLessThan(TOL);
    expect(maxRelErr(got.dh, want.dh)).toBeLessThan(TOL);
    expect(maxRelErr(got.dx, want.dx!)).toBeLessThan(TOL);
    expect(maxRelErr(got.dh0, want.dh0)).toBeLessThan(TOL);
  });

  it('naiveBptt without it differs from BPTT', () => {
    const got = naiveBptt(p, { actDerivative: false });
    expect(maxRelErr(got.grads.U, reference(p).grads.U)).toBeGreaterThan(1e-3);
  });

  it.each(JACOBIAN_KEYS)('naiveJacobian with every term is the core’s dh/d%s', (key) => {
    const want = jacobian(p.model, batchOf(p), key);
    expect(maxRelErr(naiveJacobian(p, key, { recurse: true, actDerivative: true }), want)).toBeLessThan(TOL);
  });
});
