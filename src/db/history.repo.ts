// A run's history as the dashboard and the export read it: step events by step range, hidden snapshots,
// and the rollups of the step series (written by RunsRepo.record with the events that complete them).
import type { Db } from './open.js';

/** A rollup row: level L ≥ 1, bucket j, the bucket's stats as little-endian float64. */
export interface RollupRow {
  level: number;
  bucket: number;
  stats: Uint8Array;
}

export interface StepRow {
  step: number;
  frame: string;
}

export class HistoryRepo {
  private readonly s;

  constructor(private readonly db: Db) {
    this.s = {
      // two queries: SQLite answers a lone MIN or MAX from the index, both at once by a scan
      first: db.prepare<[string, string], { step: number | null }>(
        'SELECT MIN(step) AS step FROM run_events WHERE run_id = ? AND kind = ?',
      ),
      last: db.prepare<[string, string], { step: number | null }>(
        'SELECT MAX(step) AS step FROM run_events WHERE run_id = ? AND kind = ?',
      ),
      anyRollup: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM run_rollups WHERE run_id = ? LIMIT 1'),
      rollups: db.prepare<[string, number, number, number], { bucket: number; stats: Buffer }>(
        'SELECT bucket, stats FROM run_rollups WHERE run_id = ? AND level = ? AND bucket BETWEEN ? AND ? ORDER BY bucket',
      ),
      frames: db.prepare<[string, string, number, number, number], StepRow>(
        'SELECT step, frame FROM run_events WHERE run_id = ? AND kind = ? AND step BETWEEN ? AND ? ORDER BY step, seq LIMIT ?',
      ),
      count: db.prepare<[string, string, number, number], { n: number }>(
        'SELECT COUNT(*) AS n FROM run_events WHERE run_id = ? AND kind = ? AND step BETWEEN ? AND ?',
      ),
      framesEvery: db.prepare<[string, string, number, number, number, number, number], StepRow>(
        `SELECT step, frame FROM run_events WHERE run_id = ? AND kind = ? AND step BETWEEN ? AND ?
         AND (step - ?) % ? = 0 ORDER BY step, seq LIMIT ?`,
      ),
      put: db.prepare('INSERT OR REPLACE INTO run_rollups (run_id, level, bucket, stats) VALUES (?, ?, ?, ?)'),
      clear: db.prepare('DELETE FROM run_rollups WHERE run_id = ?'),
    };
  }

  /** The first and last step that has an event of this kind, or null when none has. */
  bounds(runId: string, kind: 'step' | 'hidden'): { first: number; last: number } | null {
    const first = this.s.first.get(runId, kind)?.step ?? null;
    const last = this.s.last.get(runId, kind)?.step ?? null;
    return first !== null && last !== null ? { first, last } : null;
  }

  hasRollups(runId: string): boolean {
    return this.s.anyRollup.get(runId) !== undefined;
  }

  /** Rollups of one level for buckets lo..hi, in bucket order (buckets no step fell in are absent). */
  rollups(runId: string, level: number, lo: number, hi: number): { bucket: number; stats: Uint8Array }[] {
    return this.s.rollups.all(runId, level, lo, hi);
  }

  /** Events of a kind with from ≤ step ≤ to, in step order, at most `limit`. */
  frames(runId: string, kind: 'step' | 'hidden', from: number, to: number, limit: number): StepRow[] {
    return this.s.frames.all(runId, kind, from, to, limit);
  }

  count(runId: string, kind: 'step' | 'hidden', from: number, to: number): number {
    return this.s.count.get(runId, kind, from, to)!.n;
  }

  /** Like frames, only the steps `origin + k·every` (every ≥ 1). */
  framesEvery(
    runId: string,
    kind: 'step' | 'hidden',
    from: number,
    to: number,
    origin: number,
    every: number,
    limit: number,
  ): StepRow[] {
    return this.s.framesEvery.all(runId, kind, from, to, origin, every, limit);
  }

  /** Writes rollups rebuilt from an event log that has none (a run recorded before they existed). */
  putRollups(runId: string, rows: readonly RollupRow[]): void {
    this.db.transaction(() => {
      for (const r of rows) this.s.put.run(runId, r.level, r.bucket, r.stats);
    })();
  }

  clearRollups(runId: string): void {
    this.s.clear.run(runId);
  }
}
