// The optimizer a run body names is the core's OptimizerSpec, field for field, so training hands it to
// createOptimizer without a cast. tsc checks these assertions (npm test's typecheck); vitest runs them as no-ops.
import { expectTypeOf, it } from 'vitest';
import type { AdamSpec, MomentumSpec, OptimizerSpec, SgdSpec } from '../../src/core/optim.js';
import type { OptimizerBody, RunSpec } from '../../src/schemas/runs.js';

type Body<N extends OptimizerBody['name']> = Extract<OptimizerBody, { name: N }>;

it('each optimizer of the body has exactly the fields of the core’s spec', () => {
  expectTypeOf<Body<'sgd'>>().toEqualTypeOf<SgdSpec>();
  expectTypeOf<Body<'momentum'>>().toEqualTypeOf<MomentumSpec>();
  expectTypeOf<Body<'adam'>>().toEqualTypeOf<AdamSpec>();
});

it('a stored run spec’s optimizer goes to the core as it is', () => {
  expectTypeOf<RunSpec['optimizer']>().toExtend<OptimizerSpec>();
  expectTypeOf<OptimizerSpec>().toExtend<RunSpec['optimizer']>();
});
