// The stream's stateful mode: a `sequence` op opens a session on a stored model, and each `feed` frame with
// the same id runs its timesteps from the state the previous feed left (the /v2 sequence store, so one
// sequence_id can be fed from either). The session exists from its `sequence` frame on, while its model is
// read, so feeds sent right behind it wait for it. Feeds of a session run in order; a failed feed leaves
// the state where it was and the session open. The session ends with a feed marked `end`, a cancel, or the socket.
import { randomUUID } from 'node:crypto';
import type { SequenceService } from '../compute/sequences.js';
import { type FramesSpec, resultFrames } from '../compute/stream-frames.js';
import type { ForwardOut } from '../compute/tasks.js';
import type { StoredModel } from '../db/models.repo.js';
import { AppError, RequestValidationError } from '../errors.js';
import { batchIssues } from '../schemas/compute.js';
import type { FeedOp, SequenceEndFrame, SequenceOp, SequenceOpenFrame } from '../schemas/stream.js';

export interface SessionHost {
  sequences: SequenceService;
  /** The socket's token digest when API tokens are on: its sequences are its own (see SequenceFlags.owner). */
  owner?: string;
  getModel(idOrName: string): Promise<StoredModel>;
  /** Sends a frame (never dropped); resolves when the client can take more, or at once when `signal` aborts. */
  emit(frame: object | string | Buffer, signal: AbortSignal): Promise<void>;
  sendError(id: string, err: unknown): void;
  /** Takes a feed's answer bytes from the process-wide send budget before its work (throws the 503); returns the release. */
  reserve(bytes: number, what: string): () => void;
  /** The feed's frames encoded in the pool when they are large; null: sent one by one as they are made. */
  frames(spec: FramesSpec, bytes: number, signal: AbortSignal): Promise<Buffer[] | null>;
}

interface Session {
  /** Null until the model has been read. */
  model: StoredModel | null;
  sequenceId: string;
  /** Whether the next feed starts the sequence (from zeros) or continues it. */
  startNext: boolean;
  steps: number;
  ac: AbortController;
  chain: Promise<void>;
  ended: boolean;
}

export class SequenceSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly host: SessionHost) {}

  /** Opens the session for `frame.id`; `ac` is its entry in the socket's op table (cancel and close abort it). */
  open(frame: SequenceOp, ac: AbortController): void {
    const s: Session = {
      model: null,
      sequenceId: frame.sequenceId ?? randomUUID(),
      startNext: frame.start,
      steps: 0,
      ac,
      chain: Promise.resolve(),
      ended: false,
    };
    this.sessions.set(frame.id, s);
    ac.signal.addEventListener('abort', () => this.close(frame.id, 'cancelled'), { once: true });
    s.chain = this.host.getModel(frame.modelId).then(
      (model) => {
        s.model = model;
        const opened: SequenceOpenFrame = {
          event: 'sequence_open',
          id: frame.id,
          modelId: model.id,
          sequenceId: s.sequenceId,
        };
        void this.host.emit(opened, ac.signal);
      },
      (err) => {
        // no session after all: its feeds are told so, and its place among the socket's ops is freed
        s.ended = true;
        this.sessions.delete(frame.id);
        this.host.sendError(frame.id, err);
        ac.abort();
      },
    );
  }

  feed(frame: FeedOp): void {
    const s = this.sessions.get(frame.id);
    if (!s)
      throw new AppError(
        'not-found',
        `no open sequence session with id "${frame.id}": open one with {"op": "sequence"}`,
      );
    s.chain = s.chain.then(() => this.runFeed(frame, s)).catch((err) => this.host.sendError(frame.id, err));
  }

  private async runFeed(frame: FeedOp, s: Session): Promise<void> {
    if (!s.model) throw new AppError('not-found', `the sequence session "${frame.id}" did not open`);
    if (s.ended) return;
    const issues = batchIssues(s.model.config, frame);
    if (issues.length) throw new RequestValidationError(issues);
    const include = frame.include ?? [];
    const owner = this.host.owner;
    const flags = { id: s.sequenceId, start: s.startNext, end: frame.end, ...(owner === undefined ? {} : { owner }) };
    let release = () => {};
    let bytes = 0;
    try {
      const out: ForwardOut = await this.host.sequences.forward(
        s.model,
        { data: frame.x.data, shape: [...frame.x.shape] },
        [...new Set([...include, 'h' as const])],
        flags,
        s.ac.signal,
        // the answer's bytes are held from before the work until its frames have gone out
        (b, what) => {
          bytes = b;
          release = this.host.reserve(b, what);
        },
      );
      s.startNext = false;
      const first = s.steps;
      s.steps += frame.x.shape[1];
      const spec: FramesSpec = {
        op: 'feed',
        id: frame.id,
        include,
        out,
        first,
        steps: s.steps,
        sequenceId: s.sequenceId,
      };
      const encoded = await this.host.frames(spec, bytes, s.ac.signal);
      for (const f of encoded ?? resultFrames(spec)) {
        if (s.ac.signal.aborted) return;
        await this.host.emit(f, s.ac.signal);
      }
    } finally {
      release();
    }
    // the store forgot the state with the end flag; the session closes after its last result
    if (frame.end) this.close(frame.id, 'end');
  }

  /** Ends a session: forgets the sequence's state unless a feed marked `end` already did, and says so once. */
  private close(id: string, reason: SequenceEndFrame['reason']): void {
    const s = this.sessions.get(id);
    if (!s || s.ended) return;
    s.ended = true;
    this.sessions.delete(id);
    if (reason === 'cancelled' && s.model)
      this.host.sequences.end(s.model, s.sequenceId, this.host.owner).catch(() => {});
    const done: SequenceEndFrame = { event: 'sequence_end', id, sequenceId: s.sequenceId, steps: s.steps, reason };
    // the end frame goes out even though the session's own signal has fired
    void this.host.emit(done, new AbortController().signal);
    if (!s.ac.signal.aborted) s.ac.abort();
  }
}
