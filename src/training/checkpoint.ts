// A run's checkpoint: everything step s of the loop depends on, so a run resumed from it takes exactly the
// steps an uninterrupted run would. Stored as a small JSON header and the float64 arrays back to back.
//
// What it holds: the weights, the optimizer's state (step count; momentum buffers; Adam's m, v and the
// AMSGrad max), the data generator's state and, for inline data, the shuffled order and the position in
// the epoch. The other generators need no state: the initial weights are drawn once (the checkpoint has the
// weights), and the probe and evaluation sequences are drawn afresh from seeds the run's seed fixes.
import type { RngState } from '../core/init.js';
import { type ElmanConfig, PARAM_OF, type Params, WEIGHT_KEYS, type WeightKey, zeroParams } from '../core/model.js';
import type { OptimizerState } from '../core/optim.js';
import type { StoredCheckpoint } from '../db/runs.repo.js';

/** Where the batch sampler is: its generator and, for shuffled inline data, the epoch's order and position. */
export interface SamplerState {
  rng: RngState;
  pos: number;
  order: Uint32Array | null;
}

export interface Checkpoint {
  /** Steps completed: the step the run resumes at. */
  step: number;
  params: Params;
  optimizer: OptimizerState;
  sampler: SamplerState;
}

/** A checkpoint as stored: its step, a JSON header (what the arrays are), and the arrays' bytes. */
export type PackedCheckpoint = StoredCheckpoint;

interface Meta {
  optimizer: { steps: number; slots: Partial<Record<WeightKey, string[]>> };
  sampler: { rng: RngState; pos: number; order: number };
}

/** params (WEIGHT_KEYS order), then each weight's optimizer buffers in `slots` order, as float64; then the order as uint32. */
export function packCheckpoint(c: Checkpoint): PackedCheckpoint {
  const arrays: Float64Array[] = WEIGHT_KEYS.map((k) => c.params[PARAM_OF[k]]);
  const slots: Meta['optimizer']['slots'] = {};
  for (const k of WEIGHT_KEYS) {
    const b = c.optimizer.buffers[k];
    if (!b) continue;
    slots[k] = Object.keys(b);
    arrays.push(...Object.values(b));
  }
  const floats = arrays.reduce((s, a) => s + a.length, 0);
  const order = c.sampler.order;
  const buffer = new ArrayBuffer(floats * 8 + (order ? order.byteLength : 0));
  const all = new Float64Array(buffer, 0, floats);
  let o = 0;
  for (const a of arrays) {
    all.set(a, o);
    o += a.length;
  }
  if (order) new Uint32Array(buffer, floats * 8).set(order);
  const meta: Meta = {
    optimizer: { steps: c.optimizer.steps, slots },
    sampler: { rng: c.sampler.rng, pos: c.sampler.pos, order: order?.length ?? 0 },
  };
  return { step: c.step, meta: JSON.stringify(meta), bytes: new Uint8Array(buffer) };
}

export function unpackCheckpoint(config: ElmanConfig, p: PackedCheckpoint): Checkpoint {
  const meta: Meta = JSON.parse(p.meta);
  // copied: a stored blob's offset need not be 8-aligned
  const buffer = new Uint8Array(p.bytes).buffer;
  const orderBytes = meta.sampler.order * 4;
  const all = new Float64Array(buffer, 0, (buffer.byteLength - orderBytes) / 8);
  let o = 0;
  const take = (n: number) => {
    o += n;
    return all.slice(o - n, o);
  };
  const params = zeroParams(config);
  for (const k of WEIGHT_KEYS) params[PARAM_OF[k]].set(take(params[PARAM_OF[k]].length));
  const buffers: OptimizerState['buffers'] = {};
  for (const k of WEIGHT_KEYS) {
    const names = meta.optimizer.slots[k];
    if (!names) continue;
    const n = params[PARAM_OF[k]].length;
    buffers[k] = Object.fromEntries(names.map((name) => [name, take(n)]));
  }
  if (o !== all.length) throw new Error(`a checkpoint of ${all.length} numbers does not fit this model (${o})`);
  const order = meta.sampler.order ? new Uint32Array(buffer.slice(buffer.byteLength - orderBytes)) : null;
  return {
    step: p.step,
    params,
    optimizer: { steps: meta.optimizer.steps, buffers },
    sampler: { rng: meta.sampler.rng, pos: meta.sampler.pos, order },
  };
}
