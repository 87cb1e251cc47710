// The send budget's HTTP side (the budget itself: compute/send-budget.ts): every large answer is counted
// until it has left for the network, an answer's estimate is reserved before its work, and an answer that
// does not fit is replaced by a 503 with Retry-After.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { COUNTED_ANSWER_BYTES, type SendBudget } from '../compute/send-budget.js';
import { type AppError, PROBLEMS } from '../errors.js';
import { PROBLEM_TYPE } from './errors.js';

const ESTIMATE = Symbol('answer estimate');
type Held = { [ESTIMATE]?: () => void };

/**
 * Reserves an answer's estimated bytes for this reply before its work starts, so that concurrent heavy
 * requests cannot all pass an empty budget and compute answers that would only be shed; the estimate gives
 * way to the real size when the answer is sent, or goes back if the request fails or the client leaves.
 */
export function holdAnswer(budget: SendBudget, reply: FastifyReply): (bytes: number, what: string) => void {
  return (bytes, what) => {
    if (bytes < COUNTED_ANSWER_BYTES) return;
    const release = budget.reserve(bytes, what);
    (reply.raw as Held)[ESTIMATE] = release;
    reply.raw.once('close', release);
  };
}

function byteLength(payload: unknown): number {
  if (typeof payload === 'string') return Buffer.byteLength(payload);
  if (Buffer.isBuffer(payload)) return payload.length;
  return 0; // a stream: it waits for the socket to drain by itself
}

function shed(reply: FastifyReply, err: AppError): string {
  reply.code(503).headers(err.headers ?? {});
  if (reply.request.routeOptions.url?.startsWith('/v2')) {
    reply.type('application/json');
    return JSON.stringify({ error: err.message });
  }
  reply.type(PROBLEM_TYPE);
  const [status, title] = PROBLEMS.overloaded;
  return JSON.stringify({ type: '/problems/overloaded', title, status, detail: err.message });
}

/** Counts every large HTTP answer against the budget until it has left for the network (or the socket closed). */
export function registerSendBudget(app: FastifyInstance, budget: SendBudget): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const bytes = byteLength(payload);
    // an answer admitted with an estimate was counted before its work: its real size now takes that place
    const estimate = (reply.raw as Held)[ESTIMATE];
    estimate?.();
    if (bytes < COUNTED_ANSWER_BYTES) return payload;
    let release: () => void;
    try {
      release = estimate ? budget.force(bytes) : budget.reserve(bytes, 'this answer');
    } catch (err) {
      request.log.warn({ bytes, held: budget.held }, 'answer shed: the send budget is spent');
      return shed(reply, err as AppError);
    }
    const res = reply.raw;
    const socket = request.raw.socket;
    const unwatch = budget.watch(socket, () =>
      request.log.warn({ timeoutMs: budget.timeoutMs }, 'closing a connection that does not read its answer'),
    );
    const done = () => {
      release();
      unwatch();
    };
    res.once('finish', done);
    res.once('close', done);
    return payload;
  });
  app.addHook('onClose', async () => budget.close());
}
