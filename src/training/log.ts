// A run's event log: numbers each event, commits it (with the run's progress, or its end) in one
// transaction, and only then hands it to the run's followers. Appends to one run are chained, so commits
// and fan-out happen in sequence order; a follower subscribes before it reads the log (ws/run-events.ts),
// which is what makes replay-then-follow gapless now that a commit is asynchronous.
import type { RunEnd, RunsRepo, StoredEvent } from '../db/runs.repo.js';
import type { RunStatus, StatusFrame } from '../schemas/runs.js';
import { RunHub } from './hub.js';
import type { Evaluation, EventOut } from './loop.js';

export type Outcome = {
  status: RunStatus;
  step: number;
  reason?: string;
  modelId?: string;
  evaluation?: Evaluation | null;
};

type Progress = { step: number; loss: number; accuracy: number };

export class RunLog {
  readonly hub = new RunHub();
  private readonly lastSeqs = new Map<string, number>();
  /** Per run: the last append in flight; the next one starts after it settles. */
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly repo: RunsRepo) {}

  status(id: string, frame: StatusFrame): Promise<void> {
    return this.append(id, [{ step: frame.step, kind: 'status', frame: JSON.stringify(frame) }]);
  }

  /** A worker's batch: its events, and the latest step's numbers as the run's progress. */
  steps(id: string, events: EventOut[]): Promise<void> {
    const last = events.findLast((e) => e.kind === 'step');
    const progress = last ? { step: last.step + 1, loss: last.loss!, accuracy: last.accuracy! } : undefined;
    return this.append(
      id,
      events.map((e) => ({ step: e.step, kind: e.kind, frame: e.text })),
      progress,
    );
  }

  /** A final status: the row and its status event in one commit, then the followers are let go. */
  async finish(id: string, o: Outcome): Promise<void> {
    const frame: StatusFrame = {
      event: 'status',
      status: o.status,
      step: o.step,
      ...(o.reason ? { reason: o.reason } : {}),
      ...(o.modelId ? { modelId: o.modelId } : {}),
    };
    const end: RunEnd = o;
    try {
      await this.append(id, [{ step: o.step, kind: 'status', frame: JSON.stringify(frame) }], undefined, end);
    } finally {
      // nothing more comes from this process for the run, recorded or not: followers are not left waiting
      this.hub.end(id);
      this.lastSeqs.delete(id);
    }
  }

  private append(id: string, events: Omit<StoredEvent, 'seq'>[], progress?: Progress, end?: RunEnd): Promise<void> {
    const prev = this.tails.get(id) ?? Promise.resolve();
    const next = prev.then(() => this.commit(id, events, progress, end));
    // the chain goes on after a failure (the caller hears of it); the map forgets a run whose chain is idle
    const tail = next.catch(() => {});
    this.tails.set(id, tail);
    void tail.then(() => {
      if (this.tails.get(id) === tail) this.tails.delete(id);
    });
    return next;
  }

  private async commit(id: string, events: Omit<StoredEvent, 'seq'>[], progress?: Progress, end?: RunEnd) {
    let seq = this.lastSeqs.get(id) ?? (await this.repo.lastSeq(id));
    const stored = events.map((e) => ({ ...e, seq: ++seq }));
    try {
      await this.repo.record(id, stored, progress, end);
    } catch (err) {
      // not committed: the next append asks the log where it stands
      this.lastSeqs.delete(id);
      throw err;
    }
    this.lastSeqs.set(id, seq);
    this.hub.publish(id, stored);
  }
}
