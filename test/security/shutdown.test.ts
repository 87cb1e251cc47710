// Issue 12, item 6: a SIGTERM's shutdown cannot be held by a client that does not read. Followers and stream
// sockets are closed first with 1001 (one that does not read its close frame is cut off after a grace),
// then the runs stop, and the pool and the database are closed in every case.
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { GOING_AWAY, shutdown } from '../../src/http/shutdown.js';
import { testApp } from '../helpers/app.js';
import { Frames } from '../helpers/ws.js';

describe('graceful shutdown', () => {
  it('closes followers with 1001 before the runs stop, cuts off a socket that does not read, and always closes the rest', async () => {
    const app = await testApp({ env: { UNROLL_WS_SEND_BUDGET: String(64 * 1024), UNROLL_SEND_TIMEOUT_MS: '600000' } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const run = await app.inject({
      method: 'POST',
      url: '/v1/runs',
      payload: { task: { name: 'parity', length: 8 }, steps: 100_000, batchSize: 4 },
    });
    expect(run.statusCode, run.body).toBe(202);
    const id = run.json().id;
    const follower = new WebSocket(`${base}/v1/runs/${id}/events`);
    await once(follower, 'open');
    const frames = new Frames(follower);
    await frames.next((f) => f.event === 'step', 'a live step');

    // a stream client that stops reading while an op fills its socket
    const stalled = new WebSocket(`${base}/v1/stream`);
    await once(stalled, 'open');
    (stalled as unknown as { _socket: Socket })._socket.pause();
    const model = { config: { inputSize: 1, hiddenSize: 64, outputSize: 2 }, init: { seed: 1 } };
    stalled.send(
      JSON.stringify({
        op: 'bptt',
        id: 'big',
        model,
        x: Array.from({ length: 4 }, () => Array.from({ length: 8000 }, () => [0.5])),
        targets: [0, 1, 0, 1],
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));

    const order: string[] = [];
    follower.once('close', () => order.push('follower closed'));
    const runs = app.services.runs;
    const close = runs.close.bind(runs);
    runs.close = async () => {
      order.push('runs closing');
      await close();
    };
    const started = Date.now();
    await shutdown(app, () => {
      order.push('pool and database');
    });
    // far below ws's 30 s close timeout and close-with-grace's 10 s
    expect(Date.now() - started).toBeLessThan(9000);
    await until(() => frames.closed !== null);
    expect(frames.closed).toEqual({ code: GOING_AWAY.code, reason: GOING_AWAY.reason });
    expect(order).toEqual(['follower closed', 'runs closing', 'pool and database']);
    stalled.terminate();
  });
});

async function until(probe: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !probe(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
}
