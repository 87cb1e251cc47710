// What a run worker and the main thread say to each other: the task, the messages on its port, the shared
// control words (cancel flag, acknowledged batches) that let the worker pause without a message, and the
// pool that runs them.
import type { MessagePort } from 'node:worker_threads';
import type { Params } from '../core/model.js';
import type { RunSpec } from '../schemas/runs.js';
import type { Evaluation, EventOut } from './loop.js';

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
  port: MessagePort;
  control: Int32Array;
}

export type WorkerMessage =
  | { type: 'events'; events: EventOut[] }
  | {
      type: 'done';
      status: 'succeeded' | 'cancelled';
      step: number;
      params: Params;
      evaluation: Evaluation | null;
    }
  | { type: 'failed'; step: number; reason: string };

/** One started run, as its pool hands it back. */
export interface RunHandle {
  /** The main thread's end of the run's port. */
  port: MessagePort;
  /** Shared control words (see CONTROL). */
  control: Int32Array;
  /** Settles when the worker returns (or dies). */
  finished: Promise<void>;
  /** Stops the thread outright: the last resort when a run ignores its cancel flag. */
  terminate(): void;
}

/** The pool a RunManager starts runs in: declared here, implemented by workers/run-pool.ts (piscina). */
export interface RunPool {
  readonly threads: number;
  start(task: Omit<TrainTask, 'port' | 'control'>): RunHandle;
  close(): Promise<void>;
}
