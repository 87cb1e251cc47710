// The scrubber's pages of snapshots, without a browser: what it fetches ahead, what it draws from memory, and
// a page fetched while the run was still recording it.
import { describe, expect, it } from 'vitest';
import type { History } from '../../public/js/runhistory.js';
import { PAGE, Scrubber, type Snapshot, snapshotSteps } from '../../public/js/scrubber.js';

const EVERY = 10;

/** A run's history route for hidden snapshots, answering what a run recorded so far (`last`: its last step). */
function fakeRoute() {
  const route = {
    last: 0,
    asked: [] as { from: number; to: number }[],
    async fetchPage(_id: string, q: { from: number; to: number }): Promise<History> {
      route.asked.push({ from: q.from, to: q.to });
      const steps: number[] = [];
      for (let s = q.from; s <= Math.min(q.to, route.last); s += EVERY) steps.push(s);
      return {
        id: 'run',
        from: q.from,
        to: q.to,
        recorded: null,
        settings: {},
        hidden: { every: EVERY, total: steps.length, stride: 1, last: null, steps, h: steps.map((s) => [[s]]) },
        profile: { steps, dhNorm: steps.map((s) => [s / 1000]), gradNorm: [] },
      };
    },
  };
  return route;
}

/** The slider, as much of it as the scrubber touches (no DOM types on this side). */
function slider(): ConstructorParameters<typeof Scrubber>[0] {
  return { value: '0', max: '0', disabled: true, addEventListener() {} } as unknown as ConstructorParameters<
    typeof Scrubber
  >[0];
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('snapshotSteps', () => {
  it('indexes every hiddenEvery steps and the final snapshot after the last step', () => {
    const s = snapshotSteps(EVERY, 95, 96);
    expect(s.count).toBe(11);
    expect([s.step(0), s.step(9), s.step(10)]).toEqual([0, 90, 96]);
    expect([s.index(0), s.index(47), s.index(95), s.index(96)]).toEqual([0, 4, 9, 10]);
  });
});

describe('Scrubber', () => {
  it('draws a drag from memory once its pages are in, fetching the neighbours ahead', async () => {
    const route = fakeRoute();
    route.last = 3 * PAGE * EVERY;
    const shown: (Snapshot | null)[] = [];
    const s = new Scrubber(slider(), (snap) => shown.push(snap), route.fetchPage);
    s.live = false;
    s.reset('run', EVERY, route.last, null);
    await settle();
    // opening a finished run fetches the page under the thumb (the last)
    expect(route.asked).toEqual([{ from: 3 * PAGE * EVERY, to: 3 * PAGE * EVERY }]);
    s.seek(0);
    await settle();
    expect(shown.map((x) => x?.step)).toEqual([0]);
    expect(route.asked.map((q) => q.from)).toEqual([3 * PAGE * EVERY, 0, PAGE * EVERY]);
    // every snapshot of the first two pages from memory, shown as asked, and one more fetch: the third page
    for (let i = 1; i < 2 * PAGE; i++) s.seek(i);
    expect(shown.map((x) => x?.step)).toEqual(Array.from({ length: 2 * PAGE }, (_, i) => i * EVERY));
    expect(shown[PAGE + 1]?.dhNorm).toEqual([((PAGE + 1) * EVERY) / 1000]);
    await settle();
    expect(route.asked.map((q) => q.from)).toEqual([3 * PAGE * EVERY, 0, PAGE * EVERY, 2 * PAGE * EVERY]);
    expect(s.fetches).toBe(4);
  });

  it('fetches again a page it had while the run was still recording it', async () => {
    const route = fakeRoute();
    route.last = 5 * EVERY + 3;
    const shown: (Snapshot | null)[] = [];
    const s = new Scrubber(slider(), (snap) => shown.push(snap), route.fetchPage);
    s.live = true;
    s.reset('run', EVERY, route.last, null);
    s.seek(2);
    await settle();
    expect(shown.map((x) => x?.step)).toEqual([20]);
    // the run trains on: snapshot 9 is in page 0, which was fetched when it held snapshots 0..5
    route.last = 40 * EVERY;
    s.reset('run', EVERY, route.last, null);
    s.seek(9);
    await settle();
    expect(shown.map((x) => x?.step)).toEqual([20, 90]);
    expect(route.asked.filter((q) => q.from === 0)).toHaveLength(2);
    // and now from memory
    s.seek(8);
    expect(shown.at(-1)?.step).toBe(80);
  });
});
