// The Redis sequence store on a redis-server of this test's own: two stores (two processes' worth) share
// one sequence, chunk by chunk, bit for bit; two chunks racing never both apply; Redis stopped is a 503.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisSequenceStore } from '../../src/compute/sequence-redis.js';
import { AppError } from '../../src/errors.js';
import { type OwnRedis, ownRedis } from '../helpers/own-redis.js';

const own: OwnRedis | null = await ownRedis();
if (!own)
  console.warn('redis-server is not installed: the Redis sequence store tests did not run (skipped, not passed).');
const clients: Redis[] = [];
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await own?.stop();
});

function client(): Redis {
  const r = new Redis(own!.url, { maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  clients.push(r);
  return r;
}

const limits = { maxSequences: 100, idleMs: 60_000, maxBytes: 1 << 20, maxPerOwner: 2 };
const model = { id: 'm1', name: 'sheet', version: 1, config: { hiddenSize: 3 } };
/** A chunk's "forward": a nonlinear map whose float64 results have no short decimal form. */
const advance = (h: Float64Array | null, k: number) => {
  const out = new Float64Array(6);
  for (let i = 0; i < 6; i++) out[i] = Math.tanh((h ? h[i] : 0) * 1.37 + Math.sin(k + i) / 3);
  return out;
};

describe.skipIf(!own)('RedisSequenceStore', () => {
  it('continues one sequence alternately on two stores with the numbers of one, bit for bit', async () => {
    const a = new RedisSequenceStore(limits, client(), 'seqtest:');
    const b = new RedisSequenceStore(limits, client(), 'seqtest:');
    let ref: Float64Array | null = null;
    let got: Float64Array | null = null;
    for (let k = 0; k < 10; k++) {
      ref = advance(ref, k);
      const store = k % 2 ? b : a;
      got = await store.step(model, { id: 's', start: k === 0 }, 2, async (h0) => {
        const hT = advance(h0, k);
        return { hT, result: hT };
      });
    }
    expect(Array.from(got!)).toEqual(Array.from(ref!));
    expect(await a.has(model.id, 's')).toBe(true);
    await b.step(model, { id: 's', end: true }, 2, async (h0) => ({ hT: advance(h0, 10), result: null }));
    expect(await a.has(model.id, 's')).toBe(false);
    await expect(a.step(model, { id: 's' }, 2, async (h0) => ({ hT: advance(h0, 0), result: null }))).rejects.toThrow(
      /not a live sequence/,
    );
  });

  it('two chunks racing on two stores: one applies, the other is a 409 to retry, the state is the winner’s', async () => {
    const a = new RedisSequenceStore(limits, client(), 'seqtest:');
    const b = new RedisSequenceStore(limits, client(), 'seqtest:');
    await a.step(model, { id: 'race', start: true }, 2, async () => ({ hT: advance(null, 0), result: null }));
    let gate!: () => void;
    const both = new Promise<void>((r) => {
      gate = r;
    });
    let arrived = 0;
    const chunk = (store: RedisSequenceStore, k: number) =>
      store.step(model, { id: 'race' }, 2, async (h0) => {
        if (++arrived === 2) gate();
        await both; // both have read the same state before either commits
        return { hT: advance(h0, k), result: k };
      });
    const results = await Promise.allSettled([chunk(a, 1), chunk(b, 2)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0].reason).toBeInstanceOf(AppError);
    expect((lost[0].reason as AppError).status).toBe(409);
    expect((lost[0].reason as AppError).message).toMatch(/send it again/);
    const winner = (won[0] as PromiseFulfilledResult<number>).value;
    const next = await b.step(model, { id: 'race' }, 2, async (h0) => ({ hT: advance(h0, 3), result: h0 }));
    expect(Array.from(next!)).toEqual(Array.from(advance(advance(null, 0), winner)));
  });

  it('refuses other weights and another batch, counts owners across stores, and expires by TTL', async () => {
    const a = new RedisSequenceStore({ ...limits, idleMs: 300 }, client(), 'seqtest2:');
    const b = new RedisSequenceStore({ ...limits, idleMs: 300 }, client(), 'seqtest2:');
    const step = (s: RedisSequenceStore, id: string, start = false, owner?: string, m = model, B = 2) =>
      s.step(m, { id, start, ...(owner ? { owner } : {}) } as never, B, async (h0) => ({
        hT: advance(h0, 1),
        result: null,
      }));
    await step(a, 'o1', true, 'tok');
    await step(b, 'o2', true, 'tok');
    await expect(step(a, 'o3', true, 'tok')).rejects.toMatchObject({ status: 429 });
    await expect(step(b, 'o1', false, undefined)).rejects.toThrow(/not a live sequence/); // another owner's
    await expect(step(b, 'o1', false, 'tok', { ...model, version: 2 })).rejects.toThrow(/weights .* changed/);
    await expect(step(b, 'o1', false, 'tok', model, 3)).rejects.toThrow(/B = 2/);
    await new Promise((r) => setTimeout(r, 400));
    await expect(step(b, 'o1', false, 'tok')).rejects.toThrow(/not a live sequence/);
    await step(a, 'o3', true, 'tok'); // the expired ones no longer count
  });

  it('Redis stopped: a 503 that says to retry; back again: it goes on', async () => {
    const a = new RedisSequenceStore(limits, client(), 'seqtest3:');
    await own!.stop();
    await expect(
      a.step(model, { id: 'down', start: true }, 2, async () => ({ hT: advance(null, 0), result: null })),
    ).rejects.toMatchObject({ status: 503 });
    await own!.start();
    await new Promise((r) => setTimeout(r, 300));
    await a.step(model, { id: 'down', start: true }, 2, async () => ({ hT: advance(null, 0), result: null }));
    expect(await a.has(model.id, 'down')).toBe(true);
  });
});
