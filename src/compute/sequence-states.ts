// Where stateful sequences keep their last h: this process (SequenceStore) or Redis (RedisSequenceStore,
// with UNROLL_REDIS_URL, so a sequence continues on any process). createServices picks one; nothing else knows.
import type { SequenceLimits } from './sequence-errors.js';
import type { SequenceFlags, SequenceModel, StepResult } from './sequence-store.js';

export interface SequenceStates {
  readonly limits: SequenceLimits;
  /** Live sequences (with Redis: all processes', as last counted). */
  readonly size: number;
  /** Bytes of hidden state held (with Redis: as last counted). */
  readonly stateBytes: number;
  /** Runs one chunk; the state advances only when `work` succeeds (see SequenceStore.step). */
  step<R>(
    model: SequenceModel,
    flags: SequenceFlags,
    B: number,
    work: (h0: Float64Array | null) => Promise<StepResult<R>>,
  ): Promise<R>;
  /** Whether a sequence of this model is live (started and not ended or expired). */
  has(modelId: string, seqId: string, owner?: string): boolean | Promise<boolean>;
  /** Ends a sequence now; false when it was not live (or, in one process, busy). */
  end(modelId: string, seqId: string, owner?: string): boolean | Promise<boolean>;
  startSweeper(): void;
  close(): void;
}
