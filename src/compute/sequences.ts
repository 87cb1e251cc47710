// Forward passes on a stored model, stateless or as one chunk of a stateful sequence: the chunk starts from
// the sequence's last h and leaves its hT behind. /v2 infer calls it, and so can the WebSocket stream.

import { CancelledError } from '../core/errors.js';
import type { StoredModel } from '../db/models.repo.js';
import type { SequenceStates } from './sequence-states.js';
import type { SequenceFlags } from './sequence-store.js';
import type { AnswerHold, ComputeService } from './service.js';
import type { ComputeTask, ForwardOut, TensorData } from './tasks.js';

export type { SequenceFlags } from './sequence-store.js';

/** Extra outputs a chunk may ask for (y and hT always come back). */
export type ForwardExtra = 'h' | 'logits';

export class SequenceService {
  constructor(
    readonly store: SequenceStates,
    private readonly compute: ComputeService,
  ) {}

  /**
   * One forward pass of x (B, T, d), already checked against the model's inputSize. Without `sequence` it
   * starts from zeros; with one it runs as that sequence's next chunk (see SequenceStore.step for the
   * rules: sequence_start resets to zeros, sequence_end forgets the state afterwards). The cost is
   * admitted before the sequence is touched, so a refused chunk never occupies a slot. `held`: how the
   * answer's bytes are reserved from the send budget before the work (see ComputeService.admit).
   */
  async forward(
    model: StoredModel,
    x: TensorData,
    include: readonly ForwardExtra[],
    sequence: SequenceFlags | null,
    signal?: AbortSignal,
    held: boolean | AnswerHold = false,
  ): Promise<ForwardOut> {
    const [B] = x.shape;
    const H = model.config.hiddenSize;
    const task = (h0: Float64Array | null): Extract<ComputeTask, { op: 'forward' }> => ({
      op: 'forward',
      config: model.config,
      params: model.params,
      x,
      h0: h0 ? { data: h0, shape: [B, H] } : undefined,
      include,
    });
    if (!sequence) return this.compute.run(task(null), signal, held);
    this.compute.admit(task(null), held);
    return this.store.step(model, sequence, B, async (h0) => {
      // a client that left while its chunk waited for the one before must not move the state on unseen
      if (signal?.aborted) throw new CancelledError('the client went away before its chunk ran');
      const out = await this.compute.run(task(h0), signal, true);
      // a copy: the result's hT may be a view of the whole call's buffer, which the state must not pin
      return { hT: out.hT.data.slice(), result: out };
    });
  }

  /** Ends a sequence without feeding it; false when it was not live. */
  async end(model: StoredModel, sequenceId: string, owner?: string): Promise<boolean> {
    return this.store.end(model.id, sequenceId, owner);
  }

  close(): void {
    this.store.close();
  }
}
