// SequenceStore on a fake clock: starting, continuing, ending, idle eviction (lazy and swept), the count and
// byte limits, serialization of concurrent chunks, and a failed chunk leaving the state where it was.
import { describe, expect, it } from 'vitest';
import { MAX_PENDING_PER_SEQUENCE, SequenceStore } from '../../src/compute/sequence-store.js';
import { AppError } from '../../src/errors.js';

const H = 2;
const model = { id: 'model-1', name: 'm', version: 1, config: { hiddenSize: H } };
const IDLE_MS = 1000;

function makeStore(limits: Partial<{ maxSequences: number; maxBytes: number }> = {}) {
  let t = 0;
  const store = new SequenceStore(
    { maxSequences: limits.maxSequences ?? 4, idleMs: IDLE_MS, maxBytes: limits.maxBytes ?? 1 << 20 },
    () => t,
  );
  return { store, advance: (ms: number) => (t += ms) };
}

/** A chunk whose new state is h0 + 1 (zeros + 1 on a start), returning the h0 it saw. */
const addOne =
  (B = 1) =>
  async (h0: Float64Array | null) => {
    const hT = new Float64Array(B * H).map((_, i) => (h0 ? h0[i] : 0) + 1);
    return { hT, result: h0 ? Array.from(h0) : null };
  };

const rejects = async (p: Promise<unknown>, slug: string, fragment: string) => {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppError);
  expect((e as AppError).slug).toBe(slug);
  expect((e as AppError).message).toContain(fragment);
};

describe('SequenceStore', () => {
  it('a start begins from zeros, each chunk from the last state, and an end forgets it', async () => {
    const { store } = makeStore();
    expect(await store.step(model, { id: 's', start: true }, 1, addOne())).toBeNull();
    expect(await store.step(model, { id: 's' }, 1, addOne())).toEqual([1, 1]);
    expect(await store.step(model, { id: 's', end: true }, 1, addOne())).toEqual([2, 2]);
    expect(store.size).toBe(0);
    expect(store.stateBytes).toBe(0);
    await rejects(store.step(model, { id: 's' }, 1, addOne()), 'invalid-request', 'never started, has ended');
  });

  it('a start on a live sequence starts it over', async () => {
    const { store } = makeStore();
    await store.step(model, { id: 's', start: true }, 1, addOne());
    await store.step(model, { id: 's' }, 1, addOne());
    expect(await store.step(model, { id: 's', start: true }, 1, addOne())).toBeNull();
    expect(await store.step(model, { id: 's' }, 1, addOne())).toEqual([1, 1]);
  });

  it('sequences are per model: the same id on another model is another sequence', async () => {
    const { store } = makeStore();
    await store.step(model, { id: 's', start: true }, 1, addOne());
    await rejects(store.step({ ...model, id: 'model-2' }, { id: 's' }, 1, addOne()), 'invalid-request', 'not a live');
  });

  it('an idle sequence expires: lazily on access (saying so), or by the sweep', async () => {
    const { store, advance } = makeStore();
    await store.step(model, { id: 'a', start: true }, 1, addOne());
    await store.step(model, { id: 'b', start: true }, 1, addOne());
    advance(IDLE_MS / 2);
    await store.step(model, { id: 'b' }, 1, addOne()); // b is fed, a is not
    advance(IDLE_MS / 2 + 1);
    await rejects(store.step(model, { id: 'a' }, 1, addOne()), 'invalid-request', 'expired after more than 1 s idle');
    expect(store.has(model.id, 'b')).toBe(true);
    advance(IDLE_MS);
    expect(store.sweep()).toBe(1);
    expect(store.size).toBe(0);
  });

  it('beyond maxSequences a new sequence is refused, unless idle ones can be evicted', async () => {
    const { store, advance } = makeStore({ maxSequences: 2 });
    await store.step(model, { id: 'a', start: true }, 1, addOne());
    await store.step(model, { id: 'b', start: true }, 1, addOne());
    await rejects(store.step(model, { id: 'c', start: true }, 1, addOne()), 'overloaded', 'UNROLL_MAX_SEQUENCES = 2');
    advance(IDLE_MS + 1);
    await store.step(model, { id: 'c', start: true }, 1, addOne());
    expect(store.size).toBe(1);
  });

  it('state bytes: alone above the budget is too expensive, with others it is load', async () => {
    const { store } = makeStore({ maxBytes: 3 * H * 8 });
    await rejects(store.step(model, { id: 'big', start: true }, 4, addOne(4)), 'too-expensive', 'B·H float64');
    await store.step(model, { id: 'a', start: true }, 2, addOne(2));
    expect(store.stateBytes).toBe(2 * H * 8);
    await rejects(store.step(model, { id: 'b', start: true }, 2, addOne(2)), 'overloaded', 'UNROLL_SEQUENCE_MAX_BYTES');
    // restarting a with a larger batch is checked against the budget minus what a holds now
    await store.step(model, { id: 'a', start: true }, 3, addOne(3));
    expect(store.stateBytes).toBe(3 * H * 8);
  });

  it('a chunk must keep the batch size and the weights the sequence started with', async () => {
    const { store } = makeStore();
    await store.step(model, { id: 's', start: true }, 1, addOne());
    await rejects(store.step(model, { id: 's' }, 2, addOne(2)), 'invalid-request', 'B = 1; this chunk has B = 2');
    await rejects(store.step({ ...model, version: 2 }, { id: 's' }, 1, addOne()), 'invalid-request', 'version 1 → 2');
  });

  it('a failed chunk leaves the state as it was; a failed start leaves no sequence', async () => {
    const { store } = makeStore();
    const fail = async (): Promise<never> => {
      throw new Error('boom');
    };
    await expect(store.step(model, { id: 'new', start: true }, 1, fail)).rejects.toThrow('boom');
    expect(store.size).toBe(0);
    expect(store.stateBytes).toBe(0);
    await store.step(model, { id: 's', start: true }, 1, addOne());
    await expect(store.step(model, { id: 's', end: true }, 1, fail)).rejects.toThrow('boom');
    expect(await store.step(model, { id: 's' }, 1, addOne())).toEqual([1, 1]);
  });

  it('concurrent chunks of one sequence run one after another, in arrival order', async () => {
    const { store } = makeStore();
    await store.step(model, { id: 's', start: true }, 1, addOne());
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const slow = async (h0: Float64Array | null) => {
      await gate;
      return addOne()(h0);
    };
    const first = store.step(model, { id: 's' }, 1, slow);
    const second = store.step(model, { id: 's' }, 1, addOne());
    const third = store.step(model, { id: 's', end: true }, 1, addOne());
    const late = store.step(model, { id: 's' }, 1, addOne());
    open();
    expect(await first).toEqual([1, 1]);
    expect(await second).toEqual([2, 2]);
    expect(await third).toEqual([3, 3]);
    // the third ended the sequence, so the fourth, queued behind it, finds nothing to continue
    await rejects(late, 'invalid-request', 'not a live');
  });

  it(`more than ${MAX_PENDING_PER_SEQUENCE} chunks in flight on one sequence are refused`, async () => {
    const { store } = makeStore();
    await store.step(model, { id: 's', start: true }, 1, addOne());
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const waiting = Array.from({ length: MAX_PENDING_PER_SEQUENCE }, () =>
      store.step(model, { id: 's' }, 1, async (h0) => {
        await gate;
        return addOne()(h0);
      }),
    );
    await rejects(store.step(model, { id: 's' }, 1, addOne()), 'overloaded', 'requests in flight');
    open();
    await Promise.all(waiting);
  });

  it('end() forgets a sequence; close() forgets them all', async () => {
    const { store } = makeStore();
    await store.step(model, { id: 'a', start: true }, 1, addOne());
    await store.step(model, { id: 'b', start: true }, 1, addOne());
    expect(store.end(model.id, 'a')).toBe(true);
    expect(store.end(model.id, 'a')).toBe(false);
    store.startSweeper();
    store.close();
    expect(store.size).toBe(0);
  });
});
