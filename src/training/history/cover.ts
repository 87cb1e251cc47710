// Which rollups answer a step range: the largest complete rollup buckets that fit, and single steps (read
// from the event log) where none does, like a segment tree's query. Also the width of the buckets a
// request for `points` buckets gets.
import type { HistoryRepo } from '../../db/history.repo.js';
import { addStats, addValues, emptyStats, type Stats, seriesOf, statsFromBytes } from './stats.js';

/** Rollup buckets of level L hold FANOUT^L steps. */
export const FANOUT = 16;
/** Levels 1..LEVELS: buckets of 16 up to 16^5 = 1 048 576 steps. */
export const LEVELS = 5;
export const sizeOf = (level: number) => FANOUT ** level;

/** A rollup bucket (level ≥ 1, its index), or one step (level 0, index = the step). */
export interface Piece {
  level: number;
  index: number;
}

/**
 * Covers steps a..b (inclusive) with the fewest pieces: at each position the largest aligned rollup bucket
 * that lies inside the range and is complete (ends before `recorded`, the steps the rollups have seen).
 */
export function cover(a: number, b: number, recorded: number, out: Piece[] = []): Piece[] {
  let p = a;
  while (p <= b) {
    let taken = false;
    for (let L = LEVELS; L >= 1; L--) {
      const size = sizeOf(L);
      if (p % size === 0 && p + size - 1 <= b && p + size <= recorded) {
        out.push({ level: L, index: p / size });
        p += size;
        taken = true;
        break;
      }
    }
    if (!taken) out.push({ level: 0, index: p++ });
  }
  return out;
}

/**
 * The bucket width for steps from..to in at most `points` buckets aligned to multiples of the width: the
 * smallest multiple of a rollup size (16^L, the largest that is not wider than the need) that fits.
 */
export function bucketWidth(from: number, to: number, points: number): number {
  const span = to - from + 1;
  const need = Math.max(1, Math.ceil(span / points));
  let L = 0;
  while (L < LEVELS && sizeOf(L + 1) <= need) L++;
  const unit = sizeOf(L);
  let w = Math.ceil(need / unit) * unit;
  // alignment can add a bucket at either end
  while (Math.floor(to / w) - Math.floor(from / w) + 1 > points) w += unit;
  return w;
}

/** What the pieces read: rollup stats by level and index, and single steps' values and frames. */
export interface Fetched {
  rollups: Map<number, Stats>[];
  steps: Map<number, { values: Float64Array; dhNorm: number[] | undefined }>;
}

/** Reads the pieces: one query per run of consecutive buckets of a level, and per run of steps. */
export async function fetchPieces(repo: HistoryRepo, runId: string, pieces: readonly Piece[]): Promise<Fetched> {
  const byLevel: number[][] = Array.from({ length: LEVELS + 1 }, () => []);
  for (const p of pieces) byLevel[p.level].push(p.index);
  const out: Fetched = { rollups: byLevel.map(() => new Map()), steps: new Map() };
  for (let level = 0; level <= LEVELS; level++) {
    const indices = byLevel[level];
    indices.sort((x, y) => x - y);
    for (let i = 0; i < indices.length; ) {
      let j = i;
      while (j + 1 < indices.length && indices[j + 1] <= indices[j] + 1) j++;
      const [lo, hi] = [indices[i], indices[j]];
      if (level === 0) {
        for (const r of await repo.frames(runId, 'step', lo, hi, 2 * (hi - lo + 1))) {
          const f = JSON.parse(r.frame);
          out.steps.set(r.step, { values: seriesOf(f), dhNorm: f.dhNorm });
        }
      } else {
        for (const r of await repo.rollups(runId, level, lo, hi))
          out.rollups[level].set(r.bucket, statsFromBytes(r.stats));
      }
      i = j + 1;
    }
  }
  return out;
}

/** The stats of pieces, from what was fetched (pieces nothing was recorded in add nothing). */
export function statsOf(pieces: readonly Piece[], fetched: Fetched, into: Stats = emptyStats()): Stats {
  for (const p of pieces) {
    if (p.level === 0) {
      const s = fetched.steps.get(p.index);
      if (s) addValues(into, s.values);
    } else {
      const s = fetched.rollups[p.level].get(p.index);
      if (s) addStats(into, s);
    }
  }
  return into;
}

/** The stats of steps a..b, for small ranges (at most 15 buckets of each level and 15 steps are read). */
export async function summarize(
  repo: HistoryRepo,
  runId: string,
  a: number,
  b: number,
  recorded: number,
): Promise<Stats> {
  const pieces = cover(a, b, recorded);
  return statsOf(pieces, await fetchPieces(repo, runId, pieces));
}
