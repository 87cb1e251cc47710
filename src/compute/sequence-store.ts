// Stateful sequences (Triton's sequence extension): the last h of each live sequence, kept between calls so
// a client can feed an RNN one chunk or one timestep at a time. Bounded in count and bytes, evicted when
// idle, serialized per sequence. Held in this process only: a sequence must stick to one replica.
import type { AppError } from '../errors.js';
import { sequenceErrors as errors, type SequenceLimits } from './sequence-errors.js';

export type { SequenceLimits } from './sequence-errors.js';

/** The model a sequence runs on: a state is only meaningful for the weights that made it. */
export interface SequenceModel {
  readonly id: string;
  readonly name?: string | null;
  readonly version: number;
  readonly config: { readonly hiddenSize: number };
}

/** One request's place in a sequence: Triton's sequence_id, sequence_start and sequence_end. */
export interface SequenceFlags {
  readonly id: string;
  /**
   * Who opened it (a digest of the API token), when tokens are on: a sequence_id is then looked up among
   * its owner's sequences only, so no other client can continue or end it. Absent: one shared namespace.
   */
  readonly owner?: string;
  readonly start?: boolean;
  readonly end?: boolean;
}

/** What a step's work hands back: the new last state hT (B, H), and the caller's own result. */
export interface StepResult<R> {
  hT: Float64Array;
  result: R;
}

interface Entry {
  owner: string | undefined;
  version: number;
  B: number;
  bytes: number; // reserved for (B, H) float64
  h: Float64Array | null; // (B, H); null until the starting step succeeds
  lastUsed: number;
  tail: Promise<void>; // the step running now, which the next one waits for
  pending: number; // steps running or waiting on this sequence
}

/** Steps on one sequence waiting behind the running one, beyond which a request is refused (503). */
export const MAX_PENDING_PER_SEQUENCE = 8;
/** The sweep runs this often at most (and at least every idle timeout / SWEEPS_PER_TIMEOUT). */
const MAX_SWEEP_INTERVAL_MS = 60_000;
const SWEEPS_PER_TIMEOUT = 2;

const keyOf = (modelId: string, seqId: string, owner?: string) => `${owner ?? ''}\n${modelId}\n${seqId}`;
const stateBytes = (B: number, H: number) => B * H * Float64Array.BYTES_PER_ELEMENT;

export class SequenceStore {
  private readonly entries = new Map<string, Entry>();
  private readonly perOwner = new Map<string, number>();
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly limits: SequenceLimits,
    private readonly now: () => number = () => Date.now(),
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Bytes of hidden state held (and reserved) by live sequences. */
  get stateBytes(): number {
    return this.bytes;
  }

  /** Whether a sequence of this model is live (started and not ended or expired). */
  has(modelId: string, seqId: string, owner?: string): boolean {
    return this.live(keyOf(modelId, seqId, owner)).entry?.h != null;
  }

  /**
   * Runs one chunk of a sequence. `work` gets the state to start from (null: zeros, on sequence_start) and
   * returns the new hT; the sequence advances only when it succeeds, so a failed or cancelled chunk leaves
   * the state where it was. Chunks of one sequence run one after another, in arrival order.
   */
  async step<R>(
    model: SequenceModel,
    flags: SequenceFlags,
    B: number,
    work: (h0: Float64Array | null) => Promise<StepResult<R>>,
  ): Promise<R> {
    const key = keyOf(model.id, flags.id, flags.owner);
    for (;;) {
      const found = this.live(key);
      const e = found.entry ?? this.create(key, model, flags, B, found.expired);
      if (e.pending >= MAX_PENDING_PER_SEQUENCE) throw errors.busy(flags.id, e.pending);
      e.pending++;
      const prev = e.tail;
      let release!: () => void;
      e.tail = new Promise<void>((r) => {
        release = r;
      });
      try {
        await prev;
        // the step before this one ended the sequence: a start begins a new one, anything else is unknown
        if (this.entries.get(key) !== e) {
          if (flags.start) continue;
          throw this.unknown(model, flags.id, false);
        }
        const h0 = this.prepare(e, model, flags, B);
        const { hT, result } = await work(h0);
        this.commit(key, e, model, flags, B, hT);
        return result;
      } catch (err) {
        // a start that never produced a state leaves no sequence behind
        if (e.h === null && e.pending === 1 && this.entries.get(key) === e) this.drop(key, e);
        throw err;
      } finally {
        e.pending--;
        e.lastUsed = this.now();
        release();
      }
    }
  }

  /** Ends a sequence now (what sequence_end does after its chunk). False when it was not live or is busy. */
  end(modelId: string, seqId: string, owner?: string): boolean {
    const key = keyOf(modelId, seqId, owner);
    const e = this.live(key).entry;
    if (!e || e.pending > 0) return false;
    this.drop(key, e);
    return true;
  }

  /** Evicts every sequence idle longer than the timeout; returns how many went. */
  sweep(): number {
    let n = 0;
    for (const [key, e] of this.entries)
      if (this.expired(e)) {
        this.drop(key, e);
        n++;
      }
    return n;
  }

  /** Sweeps periodically, on a timer that never keeps the process alive. */
  startSweeper(): void {
    if (this.timer) return;
    const every = Math.min(MAX_SWEEP_INTERVAL_MS, this.limits.idleMs / SWEEPS_PER_TIMEOUT);
    this.timer = setInterval(() => this.sweep(), Math.max(1, every));
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.entries.clear();
    this.perOwner.clear();
    this.bytes = 0;
  }

  private expired(e: Entry): boolean {
    return e.pending === 0 && this.now() - e.lastUsed > this.limits.idleMs;
  }

  /** The live entry for a key; an expired one is evicted on the spot (and reported as such). */
  private live(key: string): { entry?: Entry; expired: boolean } {
    const e = this.entries.get(key);
    if (!e) return { expired: false };
    if (!this.expired(e)) return { entry: e, expired: false };
    this.drop(key, e);
    return { expired: true };
  }

  private create(key: string, model: SequenceModel, flags: SequenceFlags, B: number, expired: boolean): Entry {
    if (!flags.start) throw this.unknown(model, flags.id, expired);
    const bytes = stateBytes(B, model.config.hiddenSize);
    this.reserve(bytes);
    if (this.entries.size >= this.limits.maxSequences) this.sweep();
    if (this.entries.size >= this.limits.maxSequences) throw errors.full(this.limits);
    const owner = flags.owner;
    const max = this.limits.maxPerOwner;
    if (owner !== undefined && max !== undefined && (this.perOwner.get(owner) ?? 0) >= max) {
      this.sweep();
      if ((this.perOwner.get(owner) ?? 0) >= max) throw errors.ownerFull(this.limits, max);
    }
    const e: Entry = {
      owner,
      version: model.version,
      B,
      bytes,
      h: null,
      lastUsed: this.now(),
      tail: Promise.resolve(),
      pending: 0,
    };
    this.entries.set(key, e);
    this.bytes += bytes;
    if (owner !== undefined) this.perOwner.set(owner, (this.perOwner.get(owner) ?? 0) + 1);
    return e;
  }

  /** Refuses state that cannot fit: alone above the budget is the client's problem, with others it is load. */
  private reserve(bytes: number, freed = 0): void {
    const max = this.limits.maxBytes;
    if (bytes > max) throw errors.tooLarge(this.limits, bytes);
    if (this.bytes - freed + bytes > max) this.sweep();
    if (this.bytes - freed + bytes > max) throw errors.overBudget(this.limits, this.bytes, bytes);
  }

  /** The state this chunk starts from, after checking that it belongs to these weights and this batch. */
  private prepare(e: Entry, model: SequenceModel, flags: SequenceFlags, B: number): Float64Array | null {
    const name = model.name ?? model.id;
    if (flags.start) {
      if (B !== e.B) this.reserve(stateBytes(B, model.config.hiddenSize), e.bytes);
      return null;
    }
    if (e.h === null) throw this.unknown(model, flags.id, false);
    if (e.version !== model.version) throw errors.newWeights(name, flags.id, e.version, model.version);
    if (e.B !== B) throw errors.otherBatch(flags.id, e.B, B);
    return e.h;
  }

  private commit(key: string, e: Entry, model: SequenceModel, flags: SequenceFlags, B: number, hT: Float64Array) {
    if (flags.end) {
      this.drop(key, e);
      return;
    }
    const bytes = stateBytes(B, model.config.hiddenSize);
    this.bytes += bytes - e.bytes;
    e.bytes = bytes;
    e.B = B;
    e.version = model.version;
    e.h = hT;
  }

  private drop(key: string, e: Entry): void {
    if (this.entries.get(key) !== e) return;
    this.entries.delete(key);
    this.bytes -= e.bytes;
    if (e.owner !== undefined) {
      const n = (this.perOwner.get(e.owner) ?? 1) - 1;
      if (n > 0) this.perOwner.set(e.owner, n);
      else this.perOwner.delete(e.owner);
    }
  }

  private unknown(model: SequenceModel, seqId: string, expired: boolean): AppError {
    return errors.unknown(this.limits, model.name ?? model.id, seqId, expired);
  }
}
