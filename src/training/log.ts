// A run's event log: numbers each event, commits it (with the run's progress, or its end) in one
// transaction, and only then hands it to the run's followers. Appends to one run are chained, so commits
// and fan-out happen in sequence order; a follower subscribes before it reads the log (ws/run-events.ts),
// which is what makes replay-then-follow gapless now that a commit is asynchronous.
import type { RunEnd, RunsRepo, StoredEvent } from '../db/runs.repo.js';
import type { RunStatus, StatusFrame } from '../schemas/runs.js';
import type { RollupWriter } from './history/rollups.js';
import type { RunEvents } from './hub.js';
import type { Evaluation, EventOut } from './loop.js';

export type Outcome = {
  status: RunStatus;
  step: number;
  reason?: string;
  modelId?: string;
  evaluation?: Evaluation | null;
};

type Progress = { step: number; loss: number; accuracy: number };

/** Appends waiting for a run's commit in flight, to commit as one: their events, the last progress, an end. */
interface Group {
  events: Omit<StoredEvent, 'seq'>[];
  progress?: Progress;
  end?: RunEnd;
  committed: Promise<void>;
}
/** At most this many events in one grouped commit (a few worker batches; far from any bound on parameters). */
const MAX_GROUP_EVENTS = 2048;
/** Events per fan-out message (the worker's flush size). */
const PUBLISH_SLICE = 256;

export class RunLog {
  private readonly lastSeqs = new Map<string, number>();
  /** Per run: the last commit in flight; the next one starts after it settles. */
  private readonly tails = new Map<string, Promise<void>>();
  /** Per run: the group of appends that will commit next (still open to more). */
  private readonly waiting = new Map<string, Group>();

  constructor(
    private readonly repo: RunsRepo,
    private readonly events: RunEvents,
    /** Keeps the rollups of the step series (the fast history) with the log. */
    private readonly rollups?: RollupWriter,
  ) {}

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
      this.events.end(id);
      this.lastSeqs.delete(id);
      this.rollups?.forget(id);
    }
  }

  /**
   * A run this process stops training without settling it: it resumes later, here after a restart or on
   * another worker. Followers in this process are let go (it is closing); followers elsewhere stay.
   */
  async pause(id: string, frame: StatusFrame): Promise<void> {
    try {
      await this.status(id, frame);
    } finally {
      if (!this.events.shared) this.events.end(id);
      this.lastSeqs.delete(id);
    }
  }

  /** Resolves once every append to the run so far has settled (a checkpoint is stored after the steps it covers). */
  async flushed(id: string): Promise<void> {
    await this.tails.get(id);
  }

  private append(id: string, events: Omit<StoredEvent, 'seq'>[], progress?: Progress, end?: RunEnd): Promise<void> {
    // appends that arrive while a commit is in flight wait in one group and commit together, in order: a
    // backlog of worker batches (the commit slower than the worker) is one transaction, not one each, so a
    // run's final status never waits behind a queue of them
    const open = this.waiting.get(id);
    if (open && !open.end && open.events.length + events.length <= MAX_GROUP_EVENTS) {
      open.events.push(...events);
      if (progress) open.progress = progress;
      if (end) open.end = end;
      return open.committed;
    }
    const group: Group = { events: [...events], progress, end, committed: Promise.resolve() };
    this.waiting.set(id, group);
    const prev = this.tails.get(id) ?? Promise.resolve();
    group.committed = prev.then(() => {
      // closed: what arrives from now on waits for this commit, in the next group
      if (this.waiting.get(id) === group) this.waiting.delete(id);
      return this.commit(id, group.events, group.progress, group.end);
    });
    // the chain goes on after a failure (the callers hear of it); the map forgets a run whose chain is idle
    const tail = group.committed.catch(() => {});
    this.tails.set(id, tail);
    void tail.then(() => {
      if (this.tails.get(id) === tail) this.tails.delete(id);
    });
    return group.committed;
  }

  private async commit(id: string, events: Omit<StoredEvent, 'seq'>[], progress?: Progress, end?: RunEnd) {
    let seq = this.lastSeqs.get(id) ?? (await this.repo.lastSeq(id));
    const numbered = events.map((e) => ({ ...e, seq: ++seq }));
    let stored: StoredEvent[];
    try {
      // appends to a run are chained: the writer sees its batches one at a time, in order
      const rollups = this.rollups ? await this.rollups.rows(id, numbered) : [];
      stored = await this.repo.record(id, numbered, progress, end, rollups);
    } catch (err) {
      // not committed: the next append asks the log where it stands, and the rollups are rebuilt from it
      this.lastSeqs.delete(id);
      this.rollups?.forget(id);
      throw err;
    }
    // shared: a status written here (queued, say) is followed by events another process writes
    if (!this.events.shared || progress) this.lastSeqs.set(id, seq);
    // only what was written: a recomputed step that is in the log already reached its followers then
    // fanned out in slices of a worker batch at most: a grouped commit is not one burst to every follower
    for (let i = 0; i < stored.length; i += PUBLISH_SLICE) this.events.publish(id, stored.slice(i, i + PUBLISH_SLICE));
  }
}
