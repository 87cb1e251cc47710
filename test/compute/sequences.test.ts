// SequenceService: a chunk whose client has gone is not run and leaves the state where it was; the cost is
// refused before a sequence is touched.
import { describe, expect, it } from 'vitest';
import { SequenceStore } from '../../src/compute/sequence-store.js';
import { SequenceService } from '../../src/compute/sequences.js';
import { ComputeService } from '../../src/compute/service.js';
import { CancelledError } from '../../src/core/errors.js';
import { initParams } from '../../src/core/init.js';
import type { ElmanConfig } from '../../src/core/model.js';
import type { StoredModel } from '../../src/db/models.repo.js';
import { AppError } from '../../src/errors.js';

const config: ElmanConfig = { inputSize: 2, hiddenSize: 3, outputSize: 2, activation: 'tanh', readout: 'last' };
const model: StoredModel = {
  id: 'id-1',
  name: 'm',
  config,
  params: initParams(config, 5),
  source: 'init:5',
  version: 1,
  createdAt: '',
  updatedAt: '',
};
const x = { data: Float64Array.from([0.1, -0.2, 0.3, 0.4]), shape: [1, 2, 2] };

function service(maxCost = 1e9) {
  const store = new SequenceStore({ maxSequences: 8, idleMs: 60_000, maxBytes: 1 << 20 });
  return new SequenceService(store, new ComputeService({ maxCost, maxOutputElements: 1e6, inlineCost: 1e9 }, null));
}

describe('SequenceService', () => {
  it('a chunk whose client has gone is not run and does not move the state', async () => {
    const s = service();
    const first = await s.forward(model, x, [], { id: 'q', start: true });
    const gone = new AbortController();
    gone.abort();
    await expect(s.forward(model, x, [], { id: 'q' }, gone.signal)).rejects.toBeInstanceOf(CancelledError);
    const second = await s.forward(model, x, [], { id: 'q' });
    const again = await service().forward(
      model,
      { data: Float64Array.from([...x.data, ...x.data]), shape: [1, 4, 2] },
      [],
      null,
    );
    expect(Array.from(second.hT.data)).toEqual(Array.from(again.hT.data));
    expect(Array.from(first.hT.data)).not.toEqual(Array.from(second.hT.data));
  });

  it('a chunk over the compute cap is refused before the sequence exists', async () => {
    const s = service(1);
    await expect(s.forward(model, x, [], { id: 'c', start: true })).rejects.toBeInstanceOf(AppError);
    expect(s.store.size).toBe(0);
  });

  it('the stored state is a copy, not a view of the whole result buffer', async () => {
    const s = service();
    const out = await s.forward(model, x, ['h'], { id: 'v', start: true });
    out.hT.data.fill(0);
    const next = await s.forward(model, x, [], { id: 'v' });
    const fresh = await service().forward(
      model,
      { data: Float64Array.from([...x.data, ...x.data]), shape: [1, 4, 2] },
      [],
      null,
    );
    expect(Array.from(next.hT.data)).toEqual(Array.from(fresh.hT.data));
  });
});
