// A run's history, fast: its step series downsampled on the server from the rollups (min, max and mean per
// bucket, so a spike survives), single steps at full resolution, and its hidden snapshots. Large answers
// are built a chunk of buckets at a time, yielding to the event loop between chunks.

import type { Readable } from 'node:stream';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { type HistoryRepo, LAST_STEP } from '../../db/history.repo.js';
import {
  type HiddenHistory,
  MAX_SNAPSHOTS,
  type ProfileHistory,
  type RunHistory,
  type StepHistory,
} from '../../schemas/history.js';
import type { RunSpec } from '../spec.js';
import { bucketWidth, cover, fetchPieces, type Piece, statsOf, summarize } from './cover.js';
import { type ExportFormat, exportSteps } from './export.js';
import { RollupWriter } from './rollups.js';
import { emptyStats, SERIES, stepsIn, summary } from './stats.js';

/** Output buckets built between two yields to the event loop (each reads at most ~16 rows of its own). */
const CHUNK_BUCKETS = 128;
/** Hidden snapshots parsed between two yields. */
const CHUNK_SNAPSHOTS = 32;
/** Step events parsed between two yields while rollups are rebuilt for an old run. */
const CHUNK_BACKFILL = 4096;

/** Profiles read between two yields. */
const CHUNK_PROFILES = 128;

export interface HistoryRequest {
  from?: number;
  to?: number;
  points: number;
  snapshots: number;
  kinds: readonly ('step' | 'profile' | 'hidden')[];
  at?: readonly number[];
}

/** A run's settings, flat, for a table of the ones in which runs differ. */
export function settingsOf(spec: RunSpec): RunHistory['settings'] {
  const src = spec.source;
  const { name: optimizer, ...options } = spec.optimizer as { name: string } & Record<string, unknown>;
  const flat: RunHistory['settings'] = {
    task: src.kind === 'task' ? src.name : 'inline data',
    length: src.kind === 'task' ? src.params.length : src.T,
    ...(src.kind === 'task' && src.name === 'copy-first' ? { symbols: src.params.symbols } : {}),
    ...(src.kind === 'data' ? { examples: src.N } : {}),
    ...spec.config,
    optimizer,
  };
  for (const [k, v] of Object.entries(options)) flat[k] = Array.isArray(v) ? v.join(', ') : (v as number);
  Object.assign(flat, {
    steps: spec.steps,
    batchSize: spec.batchSize,
    clipNorm: spec.clipNorm ?? null,
    truncate: spec.truncate ?? null,
    seed: spec.seed,
    hiddenEvery: spec.hiddenEvery,
  });
  return flat;
}

export class HistoryService {
  /** Keeps the rollups as runs record their events (RunLog calls it). */
  readonly writer: RollupWriter;
  private readonly backfills = new Map<string, Promise<void>>();

  constructor(private readonly repo: HistoryRepo) {
    this.writer = new RollupWriter((runId, a, b) => summarize(repo, runId, a, b, b + 1));
  }

  /** The history of a run the caller has checked exists, trained with `spec`. */
  async history(runId: string, spec: RunSpec, q: HistoryRequest): Promise<RunHistory> {
    const recorded = await this.repo.bounds(runId, 'step');
    const hiddenBounds = q.kinds.includes('hidden') ? await this.repo.bounds(runId, 'hidden') : null;
    // the last snapshot (of the trained weights) comes after the last step
    const last = Math.max(recorded?.last ?? -1, hiddenBounds?.last ?? -1);
    const from = q.from ?? 0;
    const to = Math.min(q.to ?? last, last);
    const out: RunHistory = { id: runId, from, to, recorded, settings: settingsOf(spec) };
    if (q.kinds.includes('step')) out.step = await this.steps(runId, recorded, from, to, q.points);
    if (q.kinds.includes('hidden')) out.hidden = await this.hidden(runId, spec.hiddenEvery, from, to, q.snapshots);
    if (q.kinds.includes('profile')) {
      const stepTo = Math.min(to, recorded?.last ?? -1);
      const at = q.at ?? out.hidden?.steps ?? null;
      out.profile = await this.profiles(runId, at, from, stepTo, q.points);
    }
    return out;
  }

  private async steps(
    runId: string,
    recorded: { first: number; last: number } | null,
    from: number,
    toAsked: number,
    points: number,
  ): Promise<StepHistory> {
    const to = Math.min(toAsked, recorded?.last ?? -1);
    const out: StepHistory = { bucket: 1, start: [], count: [], series: {} };
    const columns = SERIES.map((name) => {
      const c = { min: [] as (number | null)[], max: [] as (number | null)[], mean: [] as (number | null)[] };
      out.series[name] = c;
      return c;
    });
    if (!recorded || to < from) return out;
    await this.backfill(runId, recorded.last);
    const w = bucketWidth(from, to, points);
    out.bucket = w;
    const full = w === 1;
    if (full) out.dhNorm = [];
    const rolled = recorded.last + 1;
    const [first, lastBucket] = [Math.floor(from / w), Math.floor(to / w)];
    for (let c0 = first; c0 <= lastBucket; c0 += CHUNK_BUCKETS) {
      const c1 = Math.min(lastBucket, c0 + CHUNK_BUCKETS - 1);
      const plans: { start: number; pieces: Piece[] }[] = [];
      const all: Piece[] = [];
      for (let j = c0; j <= c1; j++) {
        const start = Math.max(from, j * w);
        const pieces = cover(start, Math.min(to, (j + 1) * w - 1), rolled);
        plans.push({ start, pieces });
        all.push(...pieces);
      }
      const fetched = await fetchPieces(this.repo, runId, all);
      for (const { start, pieces } of plans) {
        const s = statsOf(pieces, fetched);
        const n = stepsIn(s);
        if (n === 0) continue;
        out.start.push(start);
        out.count.push(n);
        SERIES.forEach((_, i) => {
          const [lo, hi, mean] = summary(s, i);
          columns[i].min.push(lo);
          columns[i].max.push(hi);
          columns[i].mean.push(mean);
        });
        if (full) out.dhNorm!.push(fetched.steps.get(start)?.dhNorm ?? []);
      }
      if (c1 < lastBucket) await yieldToLoop();
    }
    return out;
  }

  /** The profiles of the steps `at`, or of the first recorded step of each bucket of from..to. */
  private async profiles(runId: string, at: readonly number[] | null, from: number, to: number, points: number) {
    const out: ProfileHistory = { steps: [], dhNorm: [], gradNorm: [] };
    if (to < from) return out;
    const w = bucketWidth(from, to, points);
    const starts: number[] = at ? [...at] : [];
    if (!at) for (let j = Math.floor(from / w); j * w <= to; j++) starts.push(Math.max(from, j * w));
    for (let c = 0; c < starts.length; c += CHUNK_PROFILES) {
      const chunk = starts.slice(c, c + CHUNK_PROFILES);
      // one query for the chunk's steps; a bucket whose first step is missing (a gap) looks further in
      const found = new Map((await this.repo.framesAt(runId, 'step', chunk)).map((r) => [r.step, r]));
      for (const a of chunk) {
        let r = found.get(a);
        if (!r && !at) [r] = await this.repo.frames(runId, 'step', a, Math.min(to, a + w - 1 - (a % w)), 1);
        if (!r || r.step === out.steps[out.steps.length - 1]) continue;
        const f = JSON.parse(r.frame);
        out.steps.push(r.step);
        out.dhNorm.push(f.dhNorm);
        out.gradNorm.push(f.gradNorm);
      }
      await yieldToLoop();
    }
    return out;
  }

  private async hidden(runId: string, every: number, from: number, to: number, snapshots: number) {
    const out: HiddenHistory = { every, total: 0, stride: 1, last: null, steps: [], h: [] };
    if (to < from) return out;
    const limit = Math.min(snapshots, MAX_SNAPSHOTS);
    out.total = await this.repo.count(runId, 'hidden', from, to);
    if (out.total === 0) return out;
    out.last = (await this.repo.frames(runId, 'hidden', Math.max(from, to - every), to, 2)).at(-1)?.step ?? null;
    out.stride = Math.ceil(out.total / limit);
    // snapshots sit at multiples of `every` (and the last one after the final step): every stride-th of them
    const origin = Math.ceil(from / every) * every;
    let at = from;
    while (out.steps.length < limit && at <= to) {
      const rows =
        out.stride === 1
          ? await this.repo.frames(runId, 'hidden', at, to, CHUNK_SNAPSHOTS)
          : await this.repo.framesEvery(runId, 'hidden', at, to, origin, every * out.stride, CHUNK_SNAPSHOTS);
      if (rows.length === 0) break;
      for (const r of rows) {
        if (out.steps.length >= limit || r.step === out.steps[out.steps.length - 1]) continue;
        out.steps.push(r.step);
        out.h.push(JSON.parse(r.frame).h);
      }
      at = rows[rows.length - 1].step + 1;
      await yieldToLoop();
    }
    return out;
  }

  /** Every step of a run, streamed. */
  export(runId: string, format: ExportFormat): Readable {
    return exportSteps(this.repo, runId, format);
  }

  /**
   * A run recorded before rollups existed has none: they are rebuilt from its log once, a chunk at a time,
   * before its first history answer (concurrent requests wait for the same rebuild).
   */
  private async backfill(runId: string, last: number): Promise<void> {
    if (last < 15 || (await this.repo.hasRollups(runId))) return;
    let p = this.backfills.get(runId);
    if (!p) {
      p = this.rebuild(runId).finally(() => this.backfills.delete(runId));
      this.backfills.set(runId, p);
    }
    return p;
  }

  private async rebuild(runId: string): Promise<void> {
    // nothing comes before the first step of the log
    const writer = new RollupWriter(() => emptyStats());
    let at = 0;
    for (;;) {
      const rows = await this.repo.frames(runId, 'step', at, LAST_STEP, CHUNK_BACKFILL);
      if (rows.length === 0) break;
      const events = rows.map((r) => ({ step: r.step, kind: 'step', frame: r.frame }));
      await this.repo.putRollups(runId, await writer.rows(runId, events));
      at = rows[rows.length - 1].step + 1;
      await yieldToLoop();
    }
  }
}
