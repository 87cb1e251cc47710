// Keeps a run's rollups as its step events are recorded: every level's open bucket in memory, a bucket
// written (in the same transaction as its events) once its last step is in or a later bucket begins.
// After a restart, or for a run this process did not start, the open buckets are rebuilt from the log.
import type { RollupRow } from '../../db/history.repo.js';
import { LEVELS, sizeOf } from './cover.js';
import { addValues, emptyStats, type Stats, seriesOf, statsToBytes, stepsIn } from './stats.js';

interface Open {
  /** The next step expected; earlier ones (replayed after a resume) are skipped. */
  next: number;
  /** Index L − 1: level L's open bucket. */
  buckets: { index: number; stats: Stats }[];
}

/** The stats of steps a..b of a run, from its log (for the steps before the first one seen). */
export type Summarize = (runId: string, a: number, b: number) => Stats | Promise<Stats>;

export class RollupWriter {
  private readonly open = new Map<string, Open>();

  constructor(private readonly summarize: Summarize) {}

  /** The rollup rows that these events (in log order) complete. Calls for one run must not overlap. */
  async rows(runId: string, events: readonly { step: number; kind: string; frame: string }[]): Promise<RollupRow[]> {
    const rows: RollupRow[] = [];
    for (const e of events) {
      if (e.kind !== 'step') continue;
      const o = this.open.get(runId) ?? (await this.openAt(runId, e.step));
      if (e.step < o.next) continue;
      o.next = e.step + 1;
      const values = seriesOf(JSON.parse(e.frame));
      for (let L = 1; L <= LEVELS; L++) {
        const size = sizeOf(L);
        const index = Math.floor(e.step / size);
        const b = o.buckets[L - 1];
        if (b.index !== index) {
          // a gap in the steps: the open bucket will get no more
          if (stepsIn(b.stats) > 0) rows.push(row(L, b));
          o.buckets[L - 1] = { index, stats: emptyStats() };
        }
        const open = o.buckets[L - 1];
        addValues(open.stats, values);
        if ((e.step + 1) % size === 0) {
          rows.push(row(L, open));
          o.buckets[L - 1] = { index: index + 1, stats: emptyStats() };
        }
      }
    }
    return rows;
  }

  /** Drops what is held for a run: it ended, or a write failed (the next batch rebuilds from the log). */
  forget(runId: string): void {
    this.open.delete(runId);
  }

  private async openAt(runId: string, step: number): Promise<Open> {
    const buckets = [];
    for (let L = 1; L <= LEVELS; L++) {
      const index = Math.floor(step / sizeOf(L));
      const start = index * sizeOf(L);
      buckets.push({ index, stats: start < step ? await this.summarize(runId, start, step - 1) : emptyStats() });
    }
    const o = { next: step, buckets };
    this.open.set(runId, o);
    return o;
  }
}

const row = (level: number, b: { index: number; stats: Stats }): RollupRow => ({
  level,
  bucket: b.index,
  stats: statsToBytes(b.stats),
});
