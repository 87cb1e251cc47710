// Graceful shutdown in the order that cannot hang: WebSocket clients first (1001 "going away"; one that
// does not read its close frame is cut off after a grace), then the runs, then in-flight requests (a
// connection that does not read its answer is cut off after a grace), and the pool and the database
// always last, whatever failed before them.
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';

export const GOING_AWAY = { code: 1001, reason: 'the server is shutting down' } as const;
/** How long a WebSocket client has to answer the close frame before its socket is cut. */
export const WS_CLOSE_GRACE_MS = 1000;
/** How long in-flight HTTP answers have to finish before their connections are cut. */
export const HTTP_CLOSE_GRACE_MS = 5000;

/** @fastify/websocket's preClose: every client gets 1001; those still open after the grace are terminated. */
export async function closeSockets(clients: Iterable<WebSocket>, graceMs = WS_CLOSE_GRACE_MS): Promise<void> {
  const open = [...clients];
  await Promise.all(
    open.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === ws.CLOSED) return resolve();
          const timer = setTimeout(() => {
            ws.terminate();
            resolve();
          }, graceMs);
          timer.unref();
          ws.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          ws.close(GOING_AWAY.code, GOING_AWAY.reason);
        }),
    ),
  );
}

/** app.close() with idle keep-alive sockets swept, stalled ones cut after the grace; then `after`, always. */
export async function shutdown(
  app: FastifyInstance,
  after: () => Promise<void> | void,
  httpGraceMs = HTTP_CLOSE_GRACE_MS,
): Promise<void> {
  // a keep-alive socket that goes idle after its last response would hold app.close() until its timeout
  const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
  const cut = setTimeout(() => app.server.closeAllConnections(), httpGraceMs);
  cut.unref();
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
    clearTimeout(cut);
    await after();
  }
}
