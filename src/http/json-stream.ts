// Large JSON answers written as the client reads them: a model's weights at the parameter cap are ~170 MB
// of JSON that JSON.stringify would build in seconds of one event-loop turn and hold whole for a client
// that does not read. Here they are encoded a slice at a time, each slice only when the socket wants more,
// so no turn encodes more than CHUNK_NUMBERS numbers and an unread answer holds a few slices.
import { Readable } from 'node:stream';
import type { TensorData } from '../schemas/tensor.js';

/** Numbers encoded per slice (~1 ms of work, ~200 KB of text). */
export const CHUNK_NUMBERS = 8192;
/** Answers with at least this many numbers are streamed; smaller ones go through the response schema. */
export const STREAM_MIN_NUMBERS = 65_536;

function* nested(t: TensorData): Generator<string> {
  const { data, shape } = t;
  let buf = '';
  let count = 0;
  let pos = 0;
  function* dim(d: number): Generator<string> {
    buf += '[';
    const n = shape[d];
    for (let i = 0; i < n; i++) {
      if (i) buf += ',';
      if (d === shape.length - 1) {
        buf += JSON.stringify(data[pos++]);
        if (++count === CHUNK_NUMBERS) {
          yield buf;
          buf = '';
          count = 0;
        }
      } else yield* dim(d + 1);
    }
    buf += ']';
  }
  if (shape.length === 0) buf = JSON.stringify(data[0]);
  else yield* dim(0);
  if (buf) yield buf;
}

/** `head` (a JSON object) with one more member, `key`: an object of tensors as nested lists, as a stream. */
export function jsonWithTensors(
  head: Record<string, unknown>,
  key: string,
  tensors: Record<string, TensorData>,
): Readable {
  function* parts(): Generator<string> {
    const start = JSON.stringify(head);
    yield `${start.slice(0, -1)}${start.length > 2 ? ',' : ''}${JSON.stringify(key)}:{`;
    let first = true;
    for (const [name, t] of Object.entries(tensors)) {
      yield `${first ? '' : ','}${JSON.stringify(name)}:`;
      first = false;
      yield* nested(t);
    }
    yield '}}';
  }
  return paced(parts());
}

/**
 * A stream of the generator's strings, at most one per event-loop turn. Readable.from would take the next
 * one synchronously whenever the socket's write returned true, and a client that reads as fast as the
 * kernel takes the bytes (loopback, a fast network) keeps it returning true: a model at the parameter cap
 * was then encoded in seconds-long turns, whole.
 */
function paced(slices: Generator<string>): Readable {
  let scheduled = false;
  return new Readable({
    highWaterMark: 64 * 1024,
    read() {
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        if (this.destroyed) return;
        try {
          const next = slices.next();
          this.push(next.done ? null : next.value);
        } catch (err) {
          this.destroy(err as Error);
        }
      });
    },
  });
}

export const numbersIn = (tensors: Record<string, TensorData>): number =>
  Object.values(tensors).reduce((n, t) => n + t.data.length, 0);
