// Replay-then-live with an asynchronous log: followers join at random moments of a run whose commits and
// reads both take random time, each from a random ?since=. Every follower gets every event after its
// `since` exactly once, in log order, then the final status, then the close: no gap at the switch from the
// log to the fan-out, and no duplicate.
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { RunEnd, RunsRepo, StoredEvent } from '../../src/db/runs.repo.js';
import { RunHub, type RunListener } from '../../src/training/hub.js';
import { RunLog } from '../../src/training/log.js';
import type { EventOut } from '../../src/training/loop.js';
import type { RunManager } from '../../src/training/manager.js';
import { followRun, RUN_ENDED } from '../../src/ws/run-events.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The log in memory; every call takes 0–2 ms, as a database's would. */
class SlowRepo {
  events: StoredEvent[] = [];
  final = false;
  constructor(private readonly delay: () => number) {}
  async lastSeq() {
    await sleep(this.delay());
    return this.events.at(-1)?.seq ?? 0;
  }
  async record(_id: string, events: StoredEvent[], _p?: unknown, end?: RunEnd) {
    await sleep(this.delay());
    // the commit is the moment the rows become visible: all of the batch (and the end) at once
    this.events.push(...events);
    if (end) this.final = true;
    return events;
  }
  async read(afterSeq: number, sinceStep: number, limit: number) {
    const snapshot = this.events.filter((e) => e.seq > afterSeq && e.step > sinceStep).slice(0, limit);
    await sleep(this.delay());
    return snapshot.map((e) => ({ ...e }));
  }
}

class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly frames: { event: string; step: number }[] = [];
  closedWith: number | null = null;
  send(data: string | Buffer, _opts: object, cb: () => void) {
    this.frames.push(JSON.parse(data.toString()));
    setImmediate(cb);
  }
  close(code: number) {
    this.closedWith = code;
    this.readyState = 3;
    this.emit('close');
  }
}

describe('followRun on an asynchronous log', () => {
  it('gives every follower each event after its since once, in order, then the end', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 60 }), since: fc.integer({ min: -1, max: 120 }) }), {
          minLength: 1,
          maxLength: 12,
        }),
        async (seed, joins) => {
          let s = seed;
          const rand = () => {
            s = (s * 1103515245 + 12345) % 2 ** 31;
            return s / 2 ** 31;
          };
          const repo = new SlowRepo(() => Math.floor(rand() * 3));
          const hub = new RunHub();
          const log = new RunLog(repo as unknown as RunsRepo, hub);
          const runs = {
            follow: (id: string, l: RunListener) => hub.follow(id, l),
            events: (_id: string, a: number, since: number, limit: number) => repo.read(a, since, limit),
            isFinal: async () => repo.final,
          } as unknown as RunManager;
          const STEPS = 100;
          const sockets: { ws: FakeSocket; since: number }[] = [];
          const followers = joins.map(async ({ at, since }) => {
            await sleep(at);
            const ws = new FakeSocket();
            sockets.push({ ws, since });
            await followRun(ws as unknown as WebSocket, runs, 'r', since, 1 << 20);
          });
          // the worker: batches of 1–4 steps, each committed before the next is sent (the ack)
          const appends: Promise<void>[] = [log.status('r', { event: 'status', status: 'running', step: 0 })];
          for (let step = 0; step < STEPS; ) {
            const n = 1 + Math.floor(rand() * 4);
            const batch: EventOut[] = [];
            for (let k = 0; k < n && step < STEPS; k++, step++)
              batch.push({
                kind: 'step',
                step,
                text: JSON.stringify({ event: 'step', step }),
                loss: 1,
                accuracy: 0,
              } as EventOut);
            appends.push(log.steps('r', batch));
            if (rand() < 0.5) await appends.at(-1);
          }
          await Promise.all(appends);
          await log.finish('r', { status: 'succeeded', step: STEPS });
          await Promise.all(followers);
          for (let i = 0; i < 50 && sockets.some(({ ws }) => ws.closedWith === null); i++) await sleep(5);
          for (const { ws, since } of sockets) {
            const steps = ws.frames.filter((f) => f.event === 'step').map((f) => f.step);
            const want = Array.from({ length: STEPS }, (_, i) => i).filter((i) => i > since);
            expect(steps).toEqual(want);
            // the final status is at step STEPS: after any since below it (a since at or past it skips it, as today)
            if (since < STEPS) expect(ws.frames.at(-1)).toMatchObject({ event: 'status', status: 'succeeded' });
            expect(ws.closedWith).toBe(RUN_ENDED.code);
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 60_000);
});

describe('followRun when a writer died between its commit and its fan-out', () => {
  it('fills the jump in sequence numbers from the log, so a live follower still gets every step once', async () => {
    const repo = new SlowRepo(() => 1);
    const hub = new RunHub();
    const runs = {
      follow: (id: string, l: RunListener) => hub.follow(id, l),
      events: (_id: string, a: number, since: number, limit: number) => repo.read(a, since, limit),
      isFinal: async () => repo.final,
    } as unknown as RunManager;
    const ws = new FakeSocket();
    const following = followRun(ws as unknown as WebSocket, runs, 'r', -1, 1 << 20);
    await sleep(20); // caught up with the empty log: live from here
    const ev = (seq: number, step: number): StoredEvent => ({
      seq,
      step,
      kind: 'step',
      frame: JSON.stringify({ event: 'step', step }),
    });
    // the first writer commits steps 0..5 and fans out only 0..1 before it is killed
    const first = [0, 1, 2, 3, 4, 5].map((s) => ev(s + 1, s));
    await repo.record('r', first);
    hub.publish('r', first.slice(0, 2));
    // the writer that resumes from step 3 recomputes 3..5 (skipped: in the log already, so seq 7..9 are
    // holes) and writes 6..9 as seq 10..13, fanned out
    const resumed = [6, 7, 8, 9].map((s, i) => ev(10 + i, s));
    await repo.record('r', resumed);
    hub.publish('r', resumed.slice(0, 2));
    hub.publish('r', resumed.slice(2));
    const end: StoredEvent = {
      seq: 14,
      step: 10,
      kind: 'status',
      frame: JSON.stringify({ event: 'status', step: 10 }),
    };
    await repo.record('r', [end], undefined, { status: 'succeeded', step: 10 } as RunEnd);
    hub.publish('r', [end]);
    hub.end('r');
    await following;
    for (let i = 0; i < 50 && ws.closedWith === null; i++) await sleep(5);
    expect(ws.frames.filter((f) => f.event === 'step').map((f) => f.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ws.frames.at(-1)).toMatchObject({ event: 'status', step: 10 });
    expect(ws.closedWith).toBe(RUN_ENDED.code);
  });
});

describe('followRun on a run that commits faster than the log is read', () => {
  it('goes live once the replay reaches the first event the subscription holds, not only after an empty read', async () => {
    const STEPS = 200;
    const repo = new SlowRepo(() => 0);
    const hub = new RunHub();
    const log = new RunLog(repo as unknown as RunsRepo, hub);
    let step = 0;
    const commitNext = async () => {
      if (step >= STEPS) return;
      const s = step++;
      await log.steps('r', [{ kind: 'step', step: s, text: JSON.stringify({ event: 'step', step: s }) } as EventOut]);
    };
    for (let i = 0; i < 20; i++) await commitNext();
    let reads = 0;
    // every read of the log sees a new step, and one more is committed before the read returns: a log that
    // is never read empty while the run goes on
    const runs = {
      follow: (id: string, l: RunListener) => hub.follow(id, l),
      events: async (_id: string, a: number, since: number, limit: number) => {
        reads++;
        await commitNext();
        const page = await repo.read(a, since, limit);
        await commitNext();
        return page;
      },
      isFinal: async () => repo.final,
    } as unknown as RunManager;
    const ws = new FakeSocket();
    const following = followRun(ws as unknown as WebSocket, runs, 'r', -1, 1 << 20);
    await sleep(20);
    const readsToGoLive = reads;
    while (step < STEPS) await commitNext();
    await log.finish('r', { status: 'succeeded', step: STEPS });
    await following;
    for (let i = 0; i < 50 && ws.closedWith === null; i++) await sleep(5);
    // a replay that waited for an empty read would have read until the run stopped (about STEPS / 2 reads)
    expect(readsToGoLive).toBeLessThanOrEqual(2);
    expect(ws.frames.filter((f) => f.event === 'step').map((f) => f.step)).toEqual(
      Array.from({ length: STEPS }, (_, i) => i),
    );
    expect(ws.closedWith).toBe(RUN_ENDED.code);
  });
});

describe('followRun whose replay is slower than the run, beyond its live buffer', () => {
  it('reaches the first event it held, fills the jump after it from the log, and gets every step once', async () => {
    const repo = new SlowRepo(() => 2);
    const hub = new RunHub();
    const STEPS = 12_000;
    let step = 0;
    /** Commits n steps and fans them out, one append after another, as the run log does. */
    let tail = Promise.resolve();
    const write = (n: number) => {
      tail = tail.then(async () => {
        const stored = Array.from({ length: n }, (_, k) => ({
          seq: step + k + 1,
          step: step + k,
          kind: 'step',
          frame: JSON.stringify({ event: 'step', step: step + k }),
        }));
        await repo.record('r', stored);
        hub.publish('r', stored);
        step += n;
      });
      return tail;
    };
    for (let i = 0; i < 8; i++) await write(256);
    const runs = {
      follow: (id: string, l: RunListener) => hub.follow(id, l),
      events: async (_id: string, a: number, since: number, limit: number) => {
        // while it replays, the run commits two pages per page read: far past the live buffer (4096)
        if (step < STEPS) await write(512);
        return repo.read(a, since, limit);
      },
      isFinal: async () => repo.final,
    } as unknown as RunManager;
    const ws = new FakeSocket();
    const following = followRun(ws as unknown as WebSocket, runs, 'r', -1, 1 << 30);
    while (step < STEPS) await write(256); // live from here on, whenever the follower gets there
    const end: StoredEvent = { seq: step + 1, step, kind: 'status', frame: JSON.stringify({ event: 'status', step }) };
    await repo.record('r', [end], undefined, { status: 'succeeded', step } as RunEnd);
    hub.publish('r', [end]);
    hub.end('r');
    await following;
    for (let i = 0; i < 2000 && ws.closedWith === null; i++) await sleep(5);
    expect(ws.frames.filter((f) => f.event === 'step').map((f) => f.step)).toEqual(
      Array.from({ length: step }, (_, i) => i),
    );
    expect(ws.frames.at(-1)).toMatchObject({ event: 'status' });
    expect(ws.closedWith).toBe(RUN_ENDED.code);
  });
});
