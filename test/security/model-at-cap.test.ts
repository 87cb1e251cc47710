// Issue 12, item 3: a model at the parameter cap is ~180 MB of JSON. Its answer is encoded a slice per
// event-loop turn even for a client that takes the bytes as fast as they come (the kernel's buffer keeps a
// socket's write returning true; Readable.from then took every slice in one turn), and it stays the JSON
// JSON.stringify would write.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { CHUNK_NUMBERS, jsonWithTensors } from '../../src/http/json-stream.js';

describe('a large model answer', () => {
  it('is encoded one slice per event-loop turn into a sink that never pushes back', async () => {
    const n = CHUNK_NUMBERS * 20 + 7;
    const data = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 1e-3);
    const tensors = { a: { data, shape: [n] }, b: { data: data.subarray(0, 6), shape: [2, 3] } };
    let turn = 0;
    let on = true;
    const spin = () => {
      if (!on) return;
      turn++;
      setImmediate(spin);
    };
    setImmediate(spin);
    const perTurn = new Map<number, number>();
    let text = '';
    const sink = new Writable({
      highWaterMark: 1 << 30, // a socket whose kernel buffer takes everything: write() is always true
      write(chunk: Buffer, _enc, done) {
        perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
        text += chunk.toString();
        done();
      },
    });
    await pipeline(jsonWithTensors({ id: 'm' }, 'weights', tensors), sink);
    on = false;
    expect(perTurn.size).toBeGreaterThan(20);
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(2);
    expect(JSON.parse(text)).toEqual({
      id: 'm',
      weights: { a: Array.from(data), b: [Array.from(data.subarray(0, 3)), Array.from(data.subarray(3, 6))] },
    });
  });
});
