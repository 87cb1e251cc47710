// Issue 12, items 2 and 5: a client that does not read cannot take the server's memory. Answers not yet
// read are counted against one process-wide budget (HTTP bodies and /v1/stream results alike); past it a
// large answer is a 503 with Retry-After, and a connection that takes no bytes for the send timeout is closed.
// These need real sockets: a client that stops reading is a TCP window that fills.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { testApp } from '../helpers/app.js';
import { Frames } from '../helpers/ws.js';

const MiB = 1024 * 1024;
const model = { config: { inputSize: 1, hiddenSize: 200, outputSize: 2 }, init: { seed: 3 } };
/** A forward whose answer (h of B·T·H = 8·10⁵ numbers) is ~15 MB: more than loopback's buffers absorb. */
const big = { model, x: Array.from({ length: 4 }, () => Array.from({ length: 1000 }, () => [0.5])), include: ['h'] };

let apps: FastifyInstance[] = [];
let clients: { destroy(): void }[] = [];
afterEach(async () => {
  for (const c of clients) c.destroy();
  for (const a of apps) a.server.closeAllConnections();
  await Promise.all(apps.map((a) => a.close()));
  apps = [];
  clients = [];
});

async function serve(env: Record<string, string>): Promise<{ app: FastifyInstance; port: number }> {
  const app = await testApp({ env: { UNROLL_MAX_COMPUTE_COST: String(1e13), ...env } });
  apps.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, port: (app.server.address() as { port: number }).port };
}

/** Sends a request on a raw socket that never reads its answer. */
async function unread(port: number, path: string, body: object): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  const text = JSON.stringify(body);
  s.write(
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
  s.pause();
  clients.push(s);
  return s;
}

const until = async (probe: () => boolean, what: string, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('HTTP answers', () => {
  it('sheds a large answer with 503 + Retry-After while unread ones hold the budget, and serves it once they are gone', async () => {
    const { app, port } = await serve({ UNROLL_SEND_BUDGET_BYTES: String(4 * MiB), UNROLL_SEND_TIMEOUT_MS: '60000' });
    const hog = await unread(port, '/v1/forward', big);
    await until(() => app.services.sendBudget.held > 0, 'the unread answer to be counted');
    const url = `http://127.0.0.1:${port}/v1/forward`;
    const post = () =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(big) });
    const shed = await post();
    expect(shed.status).toBe(503);
    expect(shed.headers.get('retry-after')).toBeTruthy();
    expect(((await shed.json()) as { detail: string }).detail).toContain('UNROLL_SEND_BUDGET_BYTES');
    // small answers are never shed
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    hog.destroy();
    await until(() => app.services.sendBudget.held === 0, 'the budget to come back');
    const served = await post();
    expect(served.status).toBe(200);
    expect(((await served.json()) as { h: unknown[] }).h).toHaveLength(4);
  });

  it('closes a connection that takes none of its answer for UNROLL_SEND_TIMEOUT_MS', async () => {
    const { app, port } = await serve({ UNROLL_SEND_TIMEOUT_MS: '300' });
    await unread(port, '/v1/forward', big);
    await until(() => app.services.sendBudget.held > 0, 'the unread answer to be counted');
    // the server destroys its end (the paused client may never see it: its window is full)
    await until(() => app.services.sendBudget.held === 0, 'the budget to come back');
  });
});

describe('/v1/stream results', () => {
  const bptt = (id: string, T: number) => ({
    op: 'bptt',
    id,
    model: { config: { inputSize: 1, hiddenSize: 64, outputSize: 2 }, init: { seed: 1 } },
    x: Array.from({ length: 4 }, () => Array.from({ length: T }, () => [0.25])),
    targets: [0, 1, 0, 1],
  });
  const openWs = async (port: number) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/stream`);
    await once(ws, 'open');
    clients.push({ destroy: () => ws.terminate() });
    return ws;
  };

  it('counts results a stalled socket holds against the process budget: other sockets are told 503 until it goes', async () => {
    const { app, port } = await serve({
      UNROLL_SEND_BUDGET_BYTES: String(MiB),
      UNROLL_WS_SEND_BUDGET: String(64 * 1024),
      UNROLL_SEND_TIMEOUT_MS: '60000',
    });
    const run = vi.spyOn(app.services.compute, 'run');
    const stalled = await openWs(port);
    (stalled as unknown as { _socket: Socket })._socket.pause();
    for (let i = 0; i < 4; i++) stalled.send(JSON.stringify(bptt(`big${i}`, 4000)));
    await until(() => app.services.sendBudget.held > 0, 'the stalled op to hold its result');
    await new Promise((r) => setTimeout(r, 300));
    // one op holds its result; the others were refused before computing anything
    expect(run).toHaveBeenCalledTimes(1);
    const reader = new Frames(await openWs(port));
    reader.ws.send(JSON.stringify(bptt('small', 3)));
    const refused = await reader.next((f) => f.id === 'small' && (f.event === 'error' || f.event === 'result'));
    expect(refused).toMatchObject({ event: 'error', status: 503 });
    expect(refused.detail).toContain('UNROLL_SEND_BUDGET_BYTES');
    stalled.terminate();
    await until(() => app.services.sendBudget.held === 0, 'the stalled socket’s results to be let go');
    reader.ws.send(JSON.stringify(bptt('again', 3)));
    expect(
      await reader.next((f) => f.id === 'again' && f.event !== 'forward_step' && f.event !== 'backward_step'),
    ).toMatchObject({
      event: 'result',
    });
    reader.ws.close();
  });

  it('closes a stream socket that takes no bytes for UNROLL_SEND_TIMEOUT_MS', async () => {
    const { app, port } = await serve({ UNROLL_WS_SEND_BUDGET: String(64 * 1024), UNROLL_SEND_TIMEOUT_MS: '300' });
    const stalled = await openWs(port);
    (stalled as unknown as { _socket: Socket })._socket.pause();
    stalled.send(JSON.stringify(bptt('big', 10000)));
    await until(() => app.websocketServer.clients.size === 1, 'the socket to open');
    await until(() => app.services.sendBudget.held > 0, 'the op to hold its result');
    // the server closes its end (the paused client may never see it: its window is full)
    await until(() => app.websocketServer.clients.size === 0, 'the server to close the stalled socket');
    await until(() => app.services.sendBudget.held === 0, 'the budget to come back');
  });
});
