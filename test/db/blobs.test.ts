// Issue 12, item 3 (a model at the parameter cap): its weights, a run's initial weights and a run's
// checkpoint are stored as rows of 128 KiB, written and read a row per statement with an event-loop turn
// between, on both dialects; a read that races a replacement starts again, never mixes two versions;
// blobs left without an owner are swept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initParams } from '../../src/core/init.js';
import { type ElmanConfig, PARAM_OF, paramCount, WEIGHT_KEYS } from '../../src/core/model.js';
import { CHUNK_FLOATS, ORPHAN_AGE_MS, sweepOrphanBlobs, writeFloats } from '../../src/db/blobs.js';
import { ModelsRepo } from '../../src/db/models.repo.js';
import type { Db } from '../../src/db/open.js';
import { RunsRepo } from '../../src/db/runs.repo.js';
import { dialects } from '../helpers/dialects.js';

// 3·300 + 300² + 300 + 300·2 + 2 = 91 802 weights: six rows of 16 384
const config: ElmanConfig = { inputSize: 3, hiddenSize: 300, outputSize: 2, activation: 'tanh', readout: 'last' };
const rowsOf = (n: number) => Math.ceil(n / CHUNK_FLOATS);
const all = await dialects('blobs');

/** Bit for bit (toEqual walks 10⁵ numbers slowly). */
const same = (a: Float64Array, b: Float64Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Counts event-loop turns (setImmediate callbacks) until stopped. */
function turns() {
  let n = 0;
  let on = true;
  const spin = () => {
    if (!on) return;
    n++;
    setImmediate(spin);
  };
  setImmediate(spin);
  return {
    stop: () => {
      on = false;
      return n;
    },
  };
}

for (const d of all) {
  describe.skipIf(d.skip !== null)(`model weights as rows on ${d.name}${d.skip ? ` (${d.skip})` : ''}`, () => {
    let db: Db;
    beforeAll(async () => {
      db = await d.open();
    });
    afterAll(async () => {
      await db?.close();
      await d.cleanup();
    });

    const chunks = async () =>
      db.kysely
        .selectFrom('blob_chunks')
        .select(['blob_id', 'idx', (eb) => eb.fn('length', ['data']).as('bytes')])
        .orderBy('blob_id')
        .orderBy('idx')
        .execute();

    it('writes and reads a large model a row per event-loop turn, bit for bit', async () => {
      const repo = new ModelsRepo(db);
      const params = initParams(config, 3);
      const n = paramCount(config);
      expect(rowsOf(n)).toBeGreaterThan(4);
      const spin = turns();
      const m = await repo.create({ config, params, source: 'init:3' });
      const duringWrite = spin.stop();
      // one statement per row, each followed by a turn of the event loop: other work ran in between
      expect(duringWrite).toBeGreaterThanOrEqual(rowsOf(n));
      const rows = (await chunks()).filter((r) => Number(r.bytes) > 0);
      expect(rows).toHaveLength(rowsOf(n));
      expect(Math.max(...rows.map((r) => Number(r.bytes)))).toBe(CHUNK_FLOATS * 8);
      expect(rows.reduce((s, r) => s + Number(r.bytes), 0)).toBe(n * 8);

      const spinRead = turns();
      const got = (await repo.get(m.id))!;
      expect(spinRead.stop()).toBeGreaterThanOrEqual(rowsOf(n));
      for (const k of WEIGHT_KEYS) expect(same(got.params[PARAM_OF[k]], params[PARAM_OF[k]])).toBe(true);
      // the summary alone reads no weights
      expect(await repo.find(m.id)).toMatchObject({ id: m.id, version: 1 });
      expect(await repo.delete(m.id)).toBe(true);
      expect(await chunks()).toHaveLength(0);
    });

    it('a tiny model is one row; replacing weights leaves one blob, the new one', async () => {
      const repo = new ModelsRepo(db);
      const tiny: ElmanConfig = { ...config, hiddenSize: 2 };
      const m = await repo.create({ name: 'tiny', config: tiny, params: initParams(tiny, 1), source: 'x' });
      expect(await chunks()).toHaveLength(1);
      const updated = (await repo.updateWeights(m.id, initParams(tiny, 2)))!;
      expect(updated.version).toBe(2);
      const rows = await chunks();
      expect(rows).toHaveLength(1);
      expect(Array.from((await repo.get('tiny'))!.params.W)).toEqual(Array.from(initParams(tiny, 2).W));
      // a name taken: the blob written for it goes too
      await expect(
        repo.create({ name: 'tiny', config: tiny, params: initParams(tiny, 3), source: 'x' }),
      ).rejects.toThrow();
      expect(await chunks()).toEqual(rows);
      expect(await repo.updateWeights('nope', initParams(tiny, 3))).toBeUndefined();
      expect(await chunks()).toEqual(rows);
      await repo.delete(m.id);
    });

    it('a read racing a replacement gets one version whole, never rows of two', async () => {
      const repo = new ModelsRepo(db);
      const versions = [1, 2, 3, 4].map((s) => initParams(config, s));
      const m = await repo.create({ config, params: versions[0], source: 'x' });
      const reads = [];
      // reads start while replacements are being written, swapped in and deleted
      const writes = (async () => {
        for (const p of versions.slice(1)) await repo.updateWeights(m.id, p);
      })();
      for (let i = 0; i < 6; i++) {
        reads.push(repo.get(m.id));
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await writes;
      for (const got of await Promise.all(reads)) {
        const v = versions.findIndex((p) => p.W[0] === got!.params.W[0]);
        expect(v).toBeGreaterThanOrEqual(0);
        for (const k of WEIGHT_KEYS) expect(same(got!.params[PARAM_OF[k]], versions[v][PARAM_OF[k]])).toBe(true);
      }
      expect(new Set((await chunks()).map((r) => r.blob_id)).size).toBe(1);
      await repo.delete(m.id);
    });

    it('a run keeps its initial weights and its checkpoint as rows too; its end and its delete drop them', async () => {
      const runs = new RunsRepo(db);
      const params = initParams(config, 4);
      const spec = { config, source: { kind: 'task', name: 'parity', params: { length: 4 } }, steps: 10 } as never;
      await runs.insert({ id: 'big', name: null, task: 'parity', spec, params, dataX: null, dataTargets: null });
      expect(await chunks()).toHaveLength(rowsOf(paramCount(config)));
      const inputs = (await runs.inputs('big', config))!;
      for (const k of WEIGHT_KEYS) expect(same(inputs.params[PARAM_OF[k]], params[PARAM_OF[k]])).toBe(true);
      // a checkpoint of 3·n numbers and a uint32 order: not a whole number of float64 rows
      const state = new Uint8Array(paramCount(config) * 24 + 12).map((_, i) => i % 251);
      const spin = turns();
      await runs.saveCheckpoint('big', { step: 3, meta: '{}', bytes: state, logBytes: 99 });
      expect(spin.stop()).toBeGreaterThanOrEqual(Math.ceil(state.length / (CHUNK_FLOATS * 8)));
      await runs.saveCheckpoint('big', { step: 6, meta: '{"b":1}', bytes: state.map((b) => 255 - b), logBytes: 199 });
      const c = (await runs.checkpoint('big'))!;
      expect({ step: c.step, meta: c.meta, logBytes: c.logBytes }).toEqual({ step: 6, meta: '{"b":1}', logBytes: 199 });
      expect(Buffer.from(c.bytes).equals(Buffer.from(state.map((b) => 255 - b)))).toBe(true);
      expect(await runs.checkpointStep('big')).toBe(6);
      // the initial weights' blob and the latest checkpoint's: the replaced one went
      expect(new Set((await chunks()).map((r) => r.blob_id)).size).toBe(2);
      await runs.record('big', [], undefined, { status: 'cancelled', step: 6 });
      expect(await runs.checkpoint('big')).toBeUndefined();
      expect(new Set((await chunks()).map((r) => r.blob_id)).size).toBe(1);
      expect(await runs.delete('big')).toBe(true);
      expect(await chunks()).toHaveLength(0);
    });

    it('sweeps blobs no model owns once they are old, and keeps young ones (a write in progress)', async () => {
      const repo = new ModelsRepo(db);
      const owned = await repo.create({ config, params: initParams(config, 1), source: 'x' });
      const orphan = await writeFloats(db.kysely, [new Float64Array(CHUNK_FLOATS * 2 + 5)]);
      expect(await sweepOrphanBlobs(db.kysely)).toBe(0);
      expect(await sweepOrphanBlobs(db.kysely, Date.now() + ORPHAN_AGE_MS + 1000)).toBe(1);
      const left = new Set((await chunks()).map((r) => r.blob_id));
      expect(left.has(orphan)).toBe(false);
      expect(left.size).toBe(1);
      expect(same((await repo.get(owned.id))!.params.W, initParams(config, 1).W)).toBe(true);
      await repo.delete(owned.id);
    });
  });
}
