// A run's event log: numbers each event, commits it (with the run's progress) in one transaction, and
// hands it to the run's followers in the same tick, which is what makes replay-then-follow gapless.
import type { RunsRepo, StoredEvent } from '../db/runs.repo.js';
import type { RunStatus, StatusFrame } from '../schemas/runs.js';
import type { RunEvents } from './hub.js';
import type { Evaluation, EventOut } from './loop.js';

export type Outcome = {
  status: RunStatus;
  step: number;
  reason?: string;
  modelId?: string;
  evaluation?: Evaluation | null;
};

export class RunLog {
  private readonly lastSeqs = new Map<string, number>();

  constructor(
    private readonly repo: RunsRepo,
    private readonly events: RunEvents,
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
    this.lastSeqs.delete(id);
    // once: a run another process settled first (a cancel racing the end, say) keeps its outcome
    if (!this.repo.finish(id, o)) return;
    this.status(id, {
      event: 'status',
      status: o.status,
      step: o.step,
      ...(o.reason ? { reason: o.reason } : {}),
      ...(o.modelId ? { modelId: o.modelId } : {}),
    });
    this.events.end(id);
    this.lastSeqs.delete(id);
  }

  /**
   * A run this process stops training without settling it: it resumes later, here after a restart or on
   * another worker. Followers in this process are let go (it is closing); followers elsewhere stay.
   */
  pause(id: string, frame: StatusFrame): void {
    this.status(id, frame);
    if (!this.events.shared) this.events.end(id);
    this.lastSeqs.delete(id);
  }

  private append(
    id: string,
    events: Omit<StoredEvent, 'seq'>[],
    progress?: { step: number; loss: number; accuracy: number },
  ): void {
    const stored = this.repo.record(id, this.lastSeqs.get(id) ?? this.repo.lastSeq(id), events, progress);
    if (stored.length) this.lastSeqs.set(id, stored.at(-1)!.seq);
    // only what was written: a recomputed step that is in the log already reached its followers then
    if (stored.length) this.events.publish(id, stored);
  }
}
