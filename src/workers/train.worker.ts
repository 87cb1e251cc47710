// A run worker: trains one run, posting its events in batches on the run's port, and pausing while the
// main thread is more than MAX_UNACKED_BATCHES behind, so a fast run never floods the event loop.
import { workerData } from 'node:worker_threads';
import { NonFiniteError } from '../core/errors.js';
import { type KernelChoice, loadKernels } from '../kernels.js';
import { packCheckpoint, unpackCheckpoint } from '../training/checkpoint.js';
import type { EventOut } from '../training/loop.js';
import { train } from '../training/loop.js';
import {
  CONTROL,
  FLUSH_EVENTS,
  FLUSH_MS,
  MAX_UNACKED_BATCHES,
  type TrainTask,
  type WorkerMessage,
} from '../training/protocol.js';
import { trainSpecOf } from '../training/spec.js';

const { kernels } = loadKernels((workerData as { kernels?: KernelChoice } | undefined)?.kernels ?? 'auto');

/** How long one wait for an acknowledgement lasts before the cancel flag is looked at again. */
const ACK_WAIT_MS = 50;

export default function runTraining(task: TrainTask): void {
  const { port } = task;
  const { control } = task;
  const post = (m: WorkerMessage) => port.postMessage(m);
  const stopped = () => Atomics.load(control, CONTROL.CANCEL) === 1;
  let pending: EventOut[] = [];
  let sent = 0;
  let lastFlush = performance.now();
  let step = 0;

  /** Posts a message the main thread acknowledges once stored, and waits while too many are unacknowledged. */
  const send = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => {
    port.postMessage(m, transfer);
    sent++;
    for (;;) {
      const acked = Atomics.load(control, CONTROL.ACKED);
      if (sent - acked <= MAX_UNACKED_BATCHES || stopped()) break;
      Atomics.wait(control, CONTROL.ACKED, acked, ACK_WAIT_MS);
    }
  };
  const flush = () => {
    if (pending.length === 0) return;
    send({ type: 'events', events: pending });
    pending = [];
    lastFlush = performance.now();
  };

  try {
    const spec = trainSpecOf(task.spec, task.params, task.dataX, task.dataTargets);
    const resume = task.resume ? unpackCheckpoint(spec.config, task.resume) : undefined;
    step = resume?.step ?? 0;
    const out = train(
      spec,
      {
        emit(events) {
          for (const e of events) {
            pending.push(e);
            if (e.kind === 'step') step = e.step + 1;
          }
          if (pending.length >= FLUSH_EVENTS || performance.now() - lastFlush >= FLUSH_MS) flush();
        },
        stopped,
        kernels,
        checkpointEvery: task.checkpointEvery,
        checkpoint(c) {
          // the steps it covers are on their way first: a stored checkpoint never runs ahead of the log
          flush();
          const packed = packCheckpoint(c);
          send({ type: 'checkpoint', checkpoint: packed }, [packed.bytes.buffer as ArrayBuffer]);
        },
      },
      resume,
    );
    flush();
    // the trained weights move to the main thread (not copied there: 64 MB at UNROLL_MAX_PARAMS)
    const buffers = new Set(
      Object.values(out.params)
        .filter((a) => a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength)
        .map((a) => a.buffer as ArrayBuffer),
    );
    port.postMessage(
      { type: 'done', status: out.status, step: out.step, params: out.params, evaluation: out.evaluation },
      [...buffers],
    );
  } catch (e) {
    flush();
    const reason =
      e instanceof NonFiniteError
        ? `the training diverged at step ${step}: ${e.message}`
        : `the training failed at step ${step}: ${e instanceof Error ? e.message : String(e)}`;
    post({ type: 'failed', step, reason });
  }
}
