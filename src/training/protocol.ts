// What a run worker and the main thread say to each other: the task, the messages on its port, and the
// shared control words (cancel flag, acknowledged batches) that let the worker pause without a message.
import type { MessagePort } from 'node:worker_threads';
import type { Params } from '../core/model.js';
import type { PackedCheckpoint } from './checkpoint.js';
import type { Evaluation, EventOut } from './loop.js';
import type { RunSpec } from './spec.js';

/** Indices into the shared Int32Array. */
export const CONTROL = { CANCEL: 0, ACKED: 1 } as const;
export const CONTROL_WORDS = 2;

/** The worker flushes its events this often, or sooner when this many are waiting. */
export const FLUSH_MS = 20;
export const FLUSH_EVENTS = 256;
/** Batches the worker may post before the main thread has stored them; beyond, it waits (memory stays bounded). */
export const MAX_UNACKED_BATCHES = 8;

export interface TrainTask {
  runId: string;
  spec: RunSpec;
  params: Params;
  dataX: Float64Array | null;
  dataTargets: Float64Array | null;
  /** The checkpoint to resume from; null starts at step 0. */
  resume: PackedCheckpoint | null;
  /** Steps between checkpoints (0: none). */
  checkpointEvery: number;
  port: MessagePort;
  control: Int32Array;
}

export type WorkerMessage =
  | { type: 'events'; events: EventOut[] }
  /** Posted after the events of the steps it covers; acknowledged like a batch of events. */
  | { type: 'checkpoint'; checkpoint: PackedCheckpoint }
  | {
      type: 'done';
      status: 'succeeded' | 'cancelled';
      step: number;
      params: Params;
      evaluation: Evaluation | null;
    }
  | { type: 'failed'; step: number; reason: string };
