// `npm run bench:validate`: what validating a 10^6-element tensor costs next to computing with it.
// Validation (the tensor codec: shape, finiteness, packing into a Float64Array) must cost less than the
// forward pass it guards; JSON.parse is shown for scale (Fastify does it before validation).
import { forward } from '../src/core/elman.js';
import { initParams } from '../src/core/init.js';
import type { ElmanConfig } from '../src/core/model.js';
import { ForwardBody } from '../src/schemas/compute.js';

const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
function time(f: () => void, reps = 7): number {
  const runs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    runs.push(performance.now() - t0);
  }
  return median(runs);
}

const B = 100;
const T = 100;
const d = 100; // x holds B·T·d = 10^6 numbers
console.log('# x of 10^6 elements (B=100, T=100, d=100); median of 7 runs, ms');
console.log('H\tJSON.parse\tvalidate+pack\tforward\tvalidate/forward');
for (const H of [8, 32, 128]) {
  const config: ElmanConfig = { inputSize: d, hiddenSize: H, outputSize: 3, activation: 'tanh', readout: 'last' };
  const x = Array.from({ length: B }, () =>
    Array.from({ length: T }, () => Array.from({ length: d }, () => Math.random() - 0.5)),
  );
  const text = JSON.stringify({ model: { config, init: { seed: 1 } }, x });
  let body: unknown;
  const parse = time(() => {
    body = JSON.parse(text);
  });
  let packed: Float64Array | undefined;
  const validate = time(() => {
    const r = ForwardBody.safeParse(body);
    if (!r.success) throw new Error('invalid');
    packed = r.data.x.data;
  });
  const model = { config, params: initParams(config, 1) };
  const fw = time(() => forward(model, { x: packed!, B, T }), 3);
  console.log(`${H}\t${parse.toFixed(1)}\t\t${validate.toFixed(1)}\t\t${fw.toFixed(1)}\t${(validate / fw).toFixed(2)}`);
}
