// What the sequence store says when it refuses a chunk: each message names the sequence, the limit and what
// the client can do about it. 400s are the client's to fix; 503s pass with time (Retry-After).
import { AppError } from '../errors.js';

/** The store's bounds, which every refusal names (declared here so the store and its messages share them). */
export interface SequenceLimits {
  /** Live sequences at once (UNROLL_MAX_SEQUENCES). */
  maxSequences: number;
  /** A sequence idle longer than this is evicted (UNROLL_SEQUENCE_IDLE_SECONDS, in ms). */
  idleMs: number;
  /** Bytes of state all sequences may hold together (UNROLL_SEQUENCE_MAX_BYTES). */
  maxBytes: number;
  /** Live sequences one owner (one API token) may hold at once (UNROLL_MAX_SEQUENCES_PER_TOKEN); unowned ones are not counted. */
  maxPerOwner?: number;
}

const seconds = (ms: number) => ms / 1000;
const retryAfter = (limits: SequenceLimits) => ({ 'retry-after': String(Math.ceil(seconds(limits.idleMs))) });

export const sequenceErrors = {
  unknown: (limits: SequenceLimits, model: string, seqId: string, expired: boolean) =>
    new AppError(
      'invalid-request',
      `sequence_id "${seqId}" is not a live sequence of model "${model}": ${
        expired
          ? `it expired after more than ${seconds(limits.idleMs)} s idle (UNROLL_SEQUENCE_IDLE_SECONDS)`
          : 'it was never started, has ended, or expired'
      }; send sequence_start: true to start it (sequences live on one instance)`,
    ),

  busy: (seqId: string, pending: number) =>
    new AppError(
      'overloaded',
      `sequence_id "${seqId}" already has ${pending} requests in flight; send its chunks one after another`,
      undefined,
      { 'retry-after': '1' },
    ),

  full: (limits: SequenceLimits) =>
    new AppError(
      'overloaded',
      `this instance holds UNROLL_MAX_SEQUENCES = ${limits.maxSequences} live sequences; end one with sequence_end, or retry once idle ones expire (UNROLL_SEQUENCE_IDLE_SECONDS = ${seconds(limits.idleMs)})`,
      undefined,
      retryAfter(limits),
    ),

  ownerFull: (limits: SequenceLimits, max: number) =>
    new AppError(
      'rate-limited',
      `this token holds UNROLL_MAX_SEQUENCES_PER_TOKEN = ${max} live sequences; end one with sequence_end, or retry once idle ones expire (UNROLL_SEQUENCE_IDLE_SECONDS = ${seconds(limits.idleMs)})`,
      undefined,
      retryAfter(limits),
    ),

  tooLarge: (limits: SequenceLimits, bytes: number) =>
    new AppError(
      'too-expensive',
      `a sequence with this batch keeps ${bytes} bytes of state (B·H float64), above UNROLL_SEQUENCE_MAX_BYTES = ${limits.maxBytes}`,
    ),

  overBudget: (limits: SequenceLimits, held: number, bytes: number) =>
    new AppError(
      'overloaded',
      `live sequences hold ${held} bytes of state; ${bytes} more would pass UNROLL_SEQUENCE_MAX_BYTES = ${limits.maxBytes}`,
      undefined,
      retryAfter(limits),
    ),

  newWeights: (model: string, seqId: string, from: number, to: number) =>
    new AppError(
      'invalid-request',
      `the weights of model "${model}" changed (version ${from} → ${to}) since sequence_id "${seqId}" started; start it again with sequence_start`,
    ),

  otherBatch: (seqId: string, B: number, got: number) =>
    new AppError('invalid-request', `sequence_id "${seqId}" runs a batch of B = ${B}; this chunk has B = ${got}`),
};
