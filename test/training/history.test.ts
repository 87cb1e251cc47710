// The fast history against the event log it summarizes: every bucket's min, max and mean equal those of its
// steps (a spike survives), ranges at any alignment, single steps with their dL/dh_t, snapshots within the
// budget, rollups rebuilt after a restart and for an old log without them, and the CSV/JSONL export.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryRepo } from '../../src/db/history.repo.js';
import { RunHistory } from '../../src/schemas/history.js';
import { databaseOf, testApp } from '../helpers/app.js';
import { hiddenFrame, seedRun, stepFrame } from '../helpers/seed-run.js';

const N = 70_001; // past a full level-4 rollup (65 536 steps) and not a multiple of anything
const T = 6;
const H = 3;
const SPIKE = 12_345;
let app: FastifyInstance;
let id: string;

beforeAll(async () => {
  app = await testApp();
  await app.ready();
  id = await seedRun(databaseOf(app), { steps: N, T, H, hiddenEvery: 100, batch: 333, spikeAt: SPIKE });
});
afterAll(() => app.close());

const history = async (q: string) => {
  const r = await app.inject({ url: `/v1/runs/${id}/history?${q}` });
  expect(r.statusCode, r.body).toBe(200);
  return RunHistory.parse(r.json());
};

/** min, max, mean of a series over steps a..b, from the frames themselves. */
function naive(a: number, b: number, pick: (f: ReturnType<typeof stepFrame>) => number) {
  let [lo, hi, sum] = [Infinity, -Infinity, 0];
  for (let i = a; i <= b; i++) {
    const v = pick(stepFrame(i, T, SPIKE));
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
    sum += v;
  }
  return { min: lo, max: hi, mean: sum / (b - a + 1) };
}

function expectBuckets(h: RunHistory, from: number, to: number) {
  const s = h.step!;
  // ‖dL/dθ‖ as the server sums it: the squares in the sheet's order
  const total = (f: ReturnType<typeof stepFrame>) =>
    Math.sqrt(Object.values(f.gradNorm).reduce((a, g) => a + g * g, 0));
  s.start.forEach((start, k) => {
    const end = Math.min(to, (Math.floor(start / s.bucket) + 1) * s.bucket - 1);
    expect(s.count[k]).toBe(end - start + 1);
    for (const [name, pick] of [
      ['loss', (f: ReturnType<typeof stepFrame>) => f.loss],
      ['gradNorm.V.bias', (f: ReturnType<typeof stepFrame>) => f.gradNorm['V.bias']],
      ['gradNorm', total],
    ] as const) {
      const want = naive(start, end, pick);
      expect(s.series[name].min[k]).toBe(want.min);
      expect(s.series[name].max[k]).toBe(want.max);
      expect(s.series[name].mean[k]).toBeCloseTo(want.mean, 12);
    }
  });
  expect(s.start[0]).toBe(from);
  expect(s.count.reduce((a, b) => a + b, 0)).toBe(to - from + 1);
}

describe('GET /v1/runs/:id/history', () => {
  it('downsamples the whole run into at most `points` buckets whose stats are those of their steps', async () => {
    const h = await history('points=1000');
    expect(h.recorded).toEqual({ first: 0, last: N - 1 });
    expect(h.step!.bucket).toBe(80); // 70 steps wanted per bucket: five level-1 rollups of 16
    expect(h.step!.start.length).toBeLessThanOrEqual(1000);
    expectBuckets(h, 0, N - 1);
    // the spike is in the max of its bucket, though the mean hides it
    const spike = stepFrame(SPIKE, T, SPIKE).loss;
    expect(Math.max(...(h.step!.series.loss.max as number[]))).toBe(spike);
  });

  it('answers ranges at any alignment, coarse and fine', async () => {
    for (const [from, to, points] of [
      [12_340, 54_321, 37],
      [65_530, 70_000, 3],
      [17, 4_200, 100],
      [0, N - 1, 2],
    ]) {
      const h = await history(`from=${from}&to=${to}&points=${points}`);
      expect(h.step!.start.length).toBeLessThanOrEqual(points);
      expectBuckets(h, from, to);
    }
  });

  it('gives single steps at full resolution, with their dL/dh_t profile', async () => {
    const h = await history('from=1000&to=1009');
    expect(h.step!.bucket).toBe(1);
    expect(h.step!.start).toEqual([1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009]);
    expect(h.step!.dhNorm![3]).toEqual(stepFrame(1003, T).dhNorm);
    expect(h.step!.series.accuracy.mean[3]).toBe(stepFrame(1003, T).accuracy);
  });

  it('returns the hidden snapshots, every stride-th beyond the budget', async () => {
    const all = await history('from=1000&to=1500&kinds=hidden');
    expect(all.step).toBeUndefined();
    expect(all.hidden).toMatchObject({ every: 100, total: 6, stride: 1, steps: [1000, 1100, 1200, 1300, 1400, 1500] });
    expect(all.hidden!.h[2]).toEqual(hiddenFrame(1200, T, H).h);
    expect(all.hidden!.last).toBe(1500);
    expect((await history('kinds=hidden&snapshots=1')).hidden).toMatchObject({ last: N, steps: [0] });
    const some = await history('kinds=hidden,step&points=50&snapshots=50');
    expect(some.hidden!.total).toBe(702); // 0, 100, …, 70 000, and the final one at 70 001
    expect(some.hidden!.stride).toBe(15);
    expect(some.hidden!.steps.slice(0, 3)).toEqual([0, 1500, 3000]);
    expect(some.hidden!.steps.length).toBeLessThanOrEqual(50);
    expect(some.step!.start.length).toBeLessThanOrEqual(50);
  });

  it('rebuilds the rollups of a log recorded without them, and after a restart mid-run, to the same answer', async () => {
    const want = await history('points=300');
    await new HistoryRepo(databaseOf(app)).clearRollups(id);
    expect(await history('points=300')).toEqual(want);
    const again = await seedRun(databaseOf(app), {
      steps: N,
      T,
      H,
      hiddenEvery: 100,
      batch: 333,
      spikeAt: SPIKE,
      restartAt: 40_000,
    });
    const r = await app.inject({ url: `/v1/runs/${again}/history?points=300` });
    expect({ ...r.json(), id }).toEqual(want);
  });

  it('gives the profiles of named steps, of the snapshots, or one per bucket; and the settings', async () => {
    const named = await history('kinds=profile&at=5,70000,3,99999999');
    expect(named.step).toBeUndefined();
    expect(named.profile!.steps).toEqual([3, 5, 70_000]);
    expect(named.profile!.dhNorm[2]).toEqual(stepFrame(70_000, T).dhNorm);
    expect(named.profile!.gradNorm[0]).toEqual(stepFrame(3, T).gradNorm);
    const snaps = await history('kinds=hidden,profile&from=200&to=500');
    expect(snaps.profile!.steps).toEqual(snaps.hidden!.steps);
    const sampled = await history('kinds=profile&points=10');
    expect(sampled.profile!.steps).toEqual([0, 8192, 16_384, 24_576, 32_768, 40_960, 49_152, 57_344, 65_536]);
    expect(sampled.settings).toMatchObject({
      task: 'sign-of-sum',
      length: T,
      hiddenSize: H,
      optimizer: 'adam',
      hiddenEvery: 100,
    });
  });

  it('is 404 for an unknown run and 400 for a bad query', async () => {
    expect((await app.inject({ url: '/v1/runs/nope/history' })).statusCode).toBe(404);
    expect((await app.inject({ url: `/v1/runs/${id}/history?kinds=loss` })).statusCode).toBe(400);
    expect((await app.inject({ url: `/v1/runs/${id}/history?points=0` })).statusCode).toBe(400);
  });
});

describe('GET /v1/runs/:id/export', () => {
  it('streams every step as CSV, one row per step with all its metrics', async () => {
    const r = await app.inject({ url: `/v1/runs/${id}/export?format=csv` });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/csv/);
    expect(r.headers['content-disposition']).toBe(`attachment; filename="run-${id}.csv"`);
    const lines = r.body.trimEnd().split('\n');
    expect(lines).toHaveLength(N + 1);
    const header = lines[0].split(',');
    expect(header.slice(0, 4)).toEqual(['step', 'loss', 'accuracy', 'gradNorm.U.weight']);
    expect(header.at(-1)).toBe(`dhNorm.${T - 1}`);
    const row = lines[SPIKE + 1].split(',').map(Number);
    const f = stepFrame(SPIKE, T, SPIKE);
    expect(row).toEqual([SPIKE, f.loss, f.accuracy, ...Object.values(f.gradNorm), ...f.dhNorm]);
  });

  it('streams the step frames as JSON Lines', async () => {
    const r = await app.inject({ url: `/v1/runs/${id}/export?format=jsonl` });
    expect(r.headers['content-type']).toMatch(/^application\/jsonl/);
    const lines = r.body.trimEnd().split('\n');
    expect(lines).toHaveLength(N);
    expect(JSON.parse(lines[777])).toEqual(stepFrame(777, T, SPIKE));
  });
});
