// A run's event log: numbers each event, commits it (with the run's progress) in one transaction, and
// hands it to the run's followers in the same tick, which is what makes replay-then-follow gapless.
import type { RunsRepo, StoredEvent } from '../db/runs.repo.js';
import type { RunStatus, StatusFrame } from '../schemas/runs.js';
import type { RollupWriter } from './history/rollups.js';
import { RunHub } from './hub.js';
import type { Evaluation, EventOut } from './loop.js';

export type Outcome = {
  status: RunStatus;
  step: number;
  reason?: string;
  modelId?: string;
  evaluation?: Evaluation | null;
};

export class RunLog {
  readonly hub = new RunHub();
  private readonly lastSeqs = new Map<string, number>();

  constructor(
    private readonly repo: RunsRepo,
    /** Keeps the rollups of the step series (the fast history) with the log. */
    private readonly rollups?: RollupWriter,
  ) {}

  status(id: string, frame: StatusFrame): void {
    this.append(id, [{ step: frame.step, kind: 'status', frame: JSON.stringify(frame) }]);
  }

  /** A worker's batch: its events, and the latest step's numbers as the run's progress. */
  steps(id: string, events: EventOut[]): void {
    const last = events.findLast((e) => e.kind === 'step');
    const progress = last ? { step: last.step + 1, loss: last.loss!, accuracy: last.accuracy! } : undefined;
    this.append(
      id,
      events.map((e) => ({ step: e.step, kind: e.kind, frame: e.text })),
      progress,
    );
  }

  /** A final status: the row, the status event, then the followers are let go. */
  finish(id: string, o: Outcome): void {
    this.repo.finish(id, o);
    this.status(id, {
      event: 'status',
      status: o.status,
      step: o.step,
      ...(o.reason ? { reason: o.reason } : {}),
      ...(o.modelId ? { modelId: o.modelId } : {}),
    });
    this.hub.end(id);
    this.lastSeqs.delete(id);
    this.rollups?.forget(id);
  }

  private append(
    id: string,
    events: Omit<StoredEvent, 'seq'>[],
    progress?: { step: number; loss: number; accuracy: number },
  ): void {
    let seq = this.lastSeqs.get(id) ?? this.repo.lastSeq(id);
    const stored = events.map((e) => ({ ...e, seq: ++seq }));
    try {
      this.repo.record(id, stored, progress, this.rollups?.rows(id, stored));
    } catch (err) {
      // what the writer holds may be ahead of the log now: rebuilt from the log next time
      this.rollups?.forget(id);
      throw err;
    }
    this.lastSeqs.set(id, seq);
    this.hub.publish(id, stored);
  }
}
