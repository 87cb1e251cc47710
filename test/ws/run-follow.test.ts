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
