// The repositories on both dialects: the same queries give the same rows on SQLite and on PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initParams } from '../../src/core/init.js';
import type { ElmanConfig } from '../../src/core/model.js';
import { isUniqueViolation } from '../../src/db/errors.js';
import { GradingRepo } from '../../src/db/grading.repo.js';
import { ModelsRepo } from '../../src/db/models.repo.js';
import type { Db } from '../../src/db/open.js';
import { RunsRepo } from '../../src/db/runs.repo.js';
import { SecretsRepo } from '../../src/db/secrets.repo.js';
import type { GradeReport } from '../../src/schemas/reports.js';
import type { RunSpec } from '../../src/training/spec.js';
import { dialects } from '../helpers/dialects.js';

const config: ElmanConfig = { inputSize: 3, hiddenSize: 4, outputSize: 2, activation: 'tanh', readout: 'last' };
const all = await dialects('store');

for (const d of all) {
  describe.skipIf(d.skip !== null)(`repositories on ${d.name}${d.skip ? ` (${d.skip})` : ''}`, () => {
    let db: Db;
    beforeAll(async () => {
      db = await d.open();
    });
    afterAll(async () => {
      await db?.close();
      await d.cleanup();
    });

    it('models: create, get by id or name, list newest first, replace weights, delete', async () => {
      const repo = new ModelsRepo(db);
      const params = initParams(config, 7);
      const a = await repo.create({ name: 'a', config, params, source: 'init:7' });
      const b = await repo.create({ config, params: initParams(config, 8), source: 'weights' });
      const got = (await repo.get('a'))!;
      expect(got.id).toBe(a.id);
      expect(got.version).toBe(1);
      expect(got.config).toEqual(config);
      // float64 weights come back bit for bit
      expect(Array.from(got.params.U)).toEqual(Array.from(params.U));
      expect((await repo.get(a.id))!.name).toBe('a');
      expect(await repo.get('nope')).toBeUndefined();
      const list = await repo.list(10, 0);
      expect(list.total).toBe(2);
      expect(list.models.map((m) => m.id).sort()).toEqual([a.id, b.id].sort());
      expect((await repo.list(1, 1)).models).toHaveLength(1);
      const updated = (await repo.updateWeights(a.id, initParams(config, 9)))!;
      expect(updated.version).toBe(2);
      expect(Array.from(updated.params.W)).toEqual(Array.from(initParams(config, 9).W));
      expect(await repo.updateWeights('nope', params)).toBeUndefined();
      const taken = await repo.create({ name: 'a', config, params, source: 'x' }).catch((e) => e);
      expect(isUniqueViolation(taken)).toBe(true);
      expect(await repo.delete(a.id)).toBe(true);
      expect(await repo.delete(a.id)).toBe(false);
      expect((await repo.list(10, 0)).total).toBe(1);
    });

    it('assignments and submissions: all in order, latest and best per student, cascade on delete', async () => {
      const repo = new GradingRepo(db);
      const spec = { title: 'T', questions: [] } as never;
      await repo.createAssignment({
        id: 'as1',
        spec,
        secret: Buffer.alloc(32, 1),
        createdAt: '2026-01-01T00:00:00.000Z',
      });
      await repo.createAssignment({
        id: 'as2',
        spec,
        secret: Buffer.alloc(32, 2),
        createdAt: '2026-01-02T00:00:00.000Z',
      });
      expect((await repo.listAssignments()).map((a) => a.id)).toEqual(['as2', 'as1']);
      expect((await repo.getAssignment('as1'))!.secret).toEqual(Buffer.alloc(32, 1));
      const report = (id: string, student: string, score: number, at: string) =>
        ({
          id,
          assignment: 'as1',
          student,
          score,
          maxScore: 10,
          submittedAt: at,
          questions: [],
        }) as unknown as GradeReport;
      const subs = [
        report('s1', 'zoe', 5, '2026-01-01T00:00:01.000Z'),
        report('s2', 'abe', 9, '2026-01-01T00:00:02.000Z'),
        report('s3', 'zoe', 8, '2026-01-01T00:00:03.000Z'),
        report('s4', 'zoe', 6, '2026-01-01T00:00:03.000Z'),
      ];
      for (const s of subs) await repo.addSubmission(s, { y: [1] });
      const ids = (rs: GradeReport[]) => rs.map((r) => r.id);
      expect(ids(await repo.listSubmissions('as1', 'all', null))).toEqual(['s1', 's2', 's3', 's4']);
      // the newest per student, a tie in time going to the later submission; students in order
      expect(ids(await repo.listSubmissions('as1', 'latest', null))).toEqual(['s2', 's4']);
      expect(ids(await repo.listSubmissions('as1', 'best', null))).toEqual(['s2', 's3']);
      expect(ids(await repo.listSubmissions('as1', 'best', 'zoe'))).toEqual(['s3']);
      expect(ids(await repo.listSubmissions('as1', 'all', 'abe'))).toEqual(['s2']);
      expect((await repo.getSubmission('as1', 's2'))!.student).toBe('abe');
      expect(await repo.getSubmission('as2', 's2')).toBeUndefined();
      expect(await repo.deleteAssignment('as1')).toBe(true);
      expect(await repo.listSubmissions('as1', 'all', null)).toEqual([]);
      expect(await repo.deleteAssignment('as1')).toBe(false);
    });

    it('runs: inputs round-trip, progress, events in order, the end with its last event in one commit', async () => {
      const repo = new RunsRepo(db);
      const spec = {
        config,
        source: { kind: 'data', N: 2, T: 5 },
        steps: 10,
        optimizer: { name: 'sgd', lr: 0.1 },
        batchSize: 2,
        seed: 0,
        hiddenEvery: 10,
      } as unknown as RunSpec;
      const params = initParams(config, 3);
      const dataX = Float64Array.from({ length: 30 }, (_, i) => i / 7);
      await repo.insert({
        id: 'r1',
        name: 'one',
        task: null,
        spec,
        params,
        dataX,
        dataTargets: new Float64Array([0, 1]),
      });
      await repo.insert({ id: 'r2', name: null, task: 'majority', spec, params, dataX: null, dataTargets: null });
      expect((await repo.get('r1'))!).toMatchObject({ status: 'queued', step: 0, steps: 10, length: 5, name: 'one' });
      const inputs = (await repo.inputs('r1', config))!;
      expect(Array.from(inputs.dataX!)).toEqual(Array.from(dataX));
      expect(Array.from(inputs.params.V)).toEqual(Array.from(params.V));
      expect((await repo.inputs('r2', config))!.dataX).toBeNull();
      expect(await repo.spec('r1')).toEqual(spec);
      expect(await repo.claim('r1')).toBe(1); // the first attempt
      expect(await repo.claim('r1')).toBe(0);
      expect(await repo.idsWithStatus('running')).toEqual(['r1']);
      expect(await repo.idsWithStatus('queued')).toEqual(['r2']);
      expect(await repo.lastSeq('r1')).toBe(0);
      const ev = (seq: number, step: number) => ({ seq, step, kind: 'step', frame: `{"step":${step}}` });
      await repo.record('r1', [ev(1, 0), ev(2, 1), ev(3, 2)], { step: 3, loss: 0.5, accuracy: 0.25 });
      expect((await repo.get('r1'))!).toMatchObject({ step: 3, metrics: { loss: 0.5, accuracy: 0.25 } });
      // a seq taken twice is refused, and nothing of its batch is kept
      await expect(repo.record('r1', [ev(4, 3), ev(3, 4)])).rejects.toThrow();
      expect(await repo.lastSeq('r1')).toBe(3);
      await repo.record('r1', [{ seq: 4, step: 3, kind: 'status', frame: '{}' }], undefined, {
        status: 'succeeded',
        step: 3,
        modelId: 'm1',
        evaluation: { accuracy: 1 },
      });
      expect((await repo.get('r1'))!).toMatchObject({
        status: 'succeeded',
        modelId: 'm1',
        evaluation: { accuracy: 1 },
      });
      expect((await repo.events('r1', 0, -1, 10)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect((await repo.events('r1', 1, -1, 2)).map((e) => e.seq)).toEqual([2, 3]);
      expect((await repo.events('r1', 0, 1, 10)).map((e) => e.step)).toEqual([2, 3]);
      const listed = await repo.list(10, 0, 'succeeded');
      expect(listed).toMatchObject({ total: 1, runs: [{ id: 'r1' }] });
      expect((await repo.list(10, 0)).total).toBe(2);
      expect(await repo.delete('r1')).toBe(true);
      expect(await repo.events('r1', 0, -1, 10)).toEqual([]);
    });

    it('runs: checkpoints replaced, attempts counted and refunded, a step written once, an end recorded once', async () => {
      const repo = new RunsRepo(db);
      const spec = {
        config,
        source: { kind: 'task', name: 'majority', params: { length: 5, symbols: 2 } },
        steps: 10,
      } as unknown as RunSpec;
      const params = initParams(config, 3);
      await repo.insert({ id: 'c1', name: null, task: 'majority', spec, params, dataX: null, dataTargets: null });
      expect(await repo.checkpoint('c1')).toBeUndefined();
      const bytes = new Uint8Array(new Float64Array([Math.PI, -0, 1e-300]).buffer);
      await repo.saveCheckpoint('c1', { step: 100, meta: '{"a":1}', bytes });
      await repo.saveCheckpoint('c1', { step: 200, meta: '{"a":2}', bytes });
      const c = (await repo.checkpoint('c1'))!;
      expect({ step: c.step, meta: c.meta }).toEqual({ step: 200, meta: '{"a":2}' });
      expect(Buffer.from(c.bytes).equals(Buffer.from(bytes))).toBe(true); // bit for bit
      expect(await repo.claim('c1')).toBe(1);
      // a dead worker's run is still running: only a queue that hands it on claims it from there
      expect(await repo.claim('c1')).toBe(0);
      expect(await repo.claim('c1', ['queued', 'running'])).toBe(2);
      await repo.requeue('c1', true); // a graceful stop gives its attempt back
      expect(await repo.attempts('c1')).toBe(1);
      expect((await repo.get('c1'))!.status).toBe('queued');
      const ev = (seq: number, step: number, kind = 'step') => ({ seq, step, kind, frame: `{"step":${step}}` });
      expect((await repo.record('c1', [ev(1, 0), ev(2, 1)], { step: 2, loss: 1, accuracy: 0 })).length).toBe(2);
      // recomputed after a resume: step 1 is there already, step 2 is new; status events always go in
      const again = await repo.record('c1', [ev(3, 1), ev(4, 2), ev(5, 2, 'status')], {
        step: 3,
        loss: 2,
        accuracy: 1,
      });
      expect(again.map((e) => e.seq)).toEqual([4, 5]);
      expect((await repo.get('c1'))!.step).toBe(3);
      const skipped = await repo.record('c1', [ev(6, 1)], { step: 2, loss: 9, accuracy: 9 });
      expect(skipped).toEqual([]);
      expect((await repo.get('c1'))!.metrics.loss).toBe(2); // progress did not move back
      // the log's step and hidden bytes before a step, summed a slice at a time (status events do not count)
      const frameBytes = `{"step":0}`.length;
      expect(await repo.logBytes('c1', 3, 1)).toBe(3 * frameBytes);
      expect(await repo.logBytes('c1', 2)).toBe(2 * frameBytes);
      expect(await repo.logBytes('c1', 0)).toBe(0);
      // and a checkpoint keeps the count it was given
      expect((await repo.checkpoint('c1'))!.logBytes).toBeNull();
      await repo.saveCheckpoint('c1', { step: 2, meta: '{}', bytes, logBytes: 5_000_000_000 });
      expect((await repo.checkpoint('c1'))!.logBytes).toBe(5_000_000_000);
      const end = { status: 'cancelled' as const, step: 3, reason: 'a' };
      expect((await repo.record('c1', [ev(7, 3, 'status')], undefined, end)).length).toBe(1);
      expect(await repo.checkpoint('c1')).toBeUndefined(); // a final run resumes no more
      expect(await repo.record('c1', [ev(8, 3, 'status')], undefined, { ...end, status: 'failed' })).toEqual([]);
      expect((await repo.get('c1'))!).toMatchObject({ status: 'cancelled', reason: 'a' });
      expect((await repo.events('c1', 0, -1, 10)).map((e) => e.seq)).toEqual([1, 2, 4, 5, 7]);
    });

    it('secrets: the first offer is kept, even when several processes ask at once', async () => {
      const a = new SecretsRepo(db);
      const offers = Array.from({ length: 8 }, (_, i) => Buffer.alloc(32, i));
      const got = await Promise.all(offers.map((o) => a.getOrCreate('grading', () => o)));
      for (const g of got) expect(g).toEqual(got[0]);
      expect(await a.getOrCreate('grading', () => Buffer.alloc(32, 99))).toEqual(got[0]);
    });
  });
}
