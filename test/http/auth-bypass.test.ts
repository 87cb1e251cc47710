// The API-token check is decided by the route that matched, never by the raw request target: every
// spelling of a protected route that the router accepts (percent-encoding, dot segments, doubled slashes,
// absolute form) is a 401 without a token, for HTTP and WebSocket routes alike. Raw bytes over a real
// socket, because an HTTP client library would normalize the target before sending it.

import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';

const TOKEN = 'the-token';
let app: FastifyInstance;
let port: number;

beforeAll(async () => {
  app = await testApp({ env: { UNROLL_API_TOKENS: TOKEN } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await app.close();
});

/** Sends one raw request and resolves with its status code (the first line of the answer). */
function raw(method: string, target: string, headers: Record<string, string> = {}, body = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => {
      got += chunk;
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (m) {
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.on('error', reject);
    const lines = [`${method} ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close'];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    if (body) lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
  });
}

/** Spellings of one path that a lenient router may resolve to the same route. */
function spellings(path: string): string[] {
  const [, first, ...rest] = path.split('/'); // '', 'v1', 'models', ...
  const tail = rest.join('/');
  const enc = (s: string) => [...s].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
  return [
    path,
    `/%${first.charCodeAt(0).toString(16)}${first.slice(1)}/${tail}`, // /%761/models
    `/${first.slice(0, 1)}%${first.charCodeAt(1).toString(16)}/${tail}`, // /v%31/models
    `/${enc(first)}/${enc(tail.split('/')[0])}${tail.includes('/') ? `/${tail.split('/').slice(1).join('/')}` : ''}`,
    `/%${first.charCodeAt(0).toString(16).toUpperCase()}${first.slice(1)}/${tail}`,
    `//${first}/${tail}`,
    `/${first}//${tail}`,
    `/./${first}/${tail}`,
    `/${first}/./${tail}`,
    `/x/../${first}/${tail}`,
    `/${first}/${tail}/`,
    `/${first}/${tail}?`,
    `/${first}/${tail}#frag`,
    `/${first}%2F${tail}`,
    `/x/%2e%2e/${first}/${tail}`, // encoded dot segments
    `/x/%2E%2E%2F${first}/${tail}`,
    `/${first}/%2e/${tail}`,
    `/${first}\\${tail}`, // a backslash, which some URL parsers read as a slash
    `/${first}/${tail};x=1`, // a matrix parameter
    `/${first}/${tail}%00`,
    `/${first}/${tail}%20`,
    `/${first.toUpperCase()}/${tail}`, // case
    `HTTP://127.0.0.1:${port}${path}`,
    `http://127.0.0.1:${port}//${first}/${tail}`,
    `http://127.0.0.1:${port}${path}`, // absolute form
    `http://other.example${path}`,
  ];
}

const forward = JSON.stringify({
  model: { config: { inputSize: 1, hiddenSize: 2, outputSize: 2 }, init: { seed: 1 } },
  x: [[[0.5]]],
});

// [method, path, body]: one route per family, and the ones the audit walked around
const protectedRoutes: Array<[string, string, string?]> = [
  ['GET', '/v1/models'],
  ['POST', '/v1/models', forward],
  ['GET', '/v1/models/x'],
  ['DELETE', '/v1/models/x'],
  ['PUT', '/v1/models/x/weights', '{}'],
  ['POST', '/v1/models/x/forward', '{}'],
  ['POST', '/v1/forward', forward],
  ['POST', '/v1/bptt', forward],
  ['POST', '/v1/jacobian', forward],
  ['POST', '/v1/gradcheck', forward],
  ['POST', '/v1/trace', '{}'],
  ['GET', '/v1/runs'],
  ['POST', '/v1/runs', '{}'],
  ['GET', '/v1/runs/x'],
  ['DELETE', '/v1/runs/x'],
  ['POST', '/v1/runs/x/cancel', '{}'],
  ['GET', '/v1/tasks'],
  ['GET', '/v2'],
  ['GET', '/v2/models/x'],
  ['POST', '/v2/models/x/infer', '{}'],
];

describe('with UNROLL_API_TOKENS, no spelling of a protected route gets through without a token', () => {
  for (const [method, path, body] of protectedRoutes) {
    it(`${method} ${path}`, async () => {
      for (const target of spellings(path)) {
        const status = await raw(method, target, {}, body);
        expect({ target, status }).toEqual({ target, status: 401 });
      }
    });
  }

  for (const path of ['/v1/stream', '/v1/runs/x/events']) {
    it(`the WebSocket upgrade of ${path}`, async () => {
      const upgrade = {
        Upgrade: 'websocket',
        Connection: 'Upgrade',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version': '13',
      };
      for (const target of spellings(path)) {
        const status = await raw('GET', target, upgrade);
        expect({ target, status }).toEqual({ target, status: 401 });
      }
      // with the token, the canonical route is no longer refused for want of one
      expect(await raw('GET', `${path}?access_token=${TOKEN}`, upgrade)).not.toBe(401);
    });
  }

  it('a refused upgrade is answered and its socket closed by the server', async () => {
    const socket = connect(port, '127.0.0.1');
    const closed = new Promise<string>((resolve) => {
      let got = '';
      socket.setEncoding('latin1');
      socket.on('data', (c) => {
        got += c;
      });
      socket.on('close', () => resolve(got.split('\r\n')[0]));
    });
    socket.write(
      'GET /v1/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    expect(await closed).toBe('HTTP/1.1 401 Unauthorized');
  });

  it('a route that matches nothing is denied, not described', async () => {
    expect(await raw('GET', '/v1/nothing-here')).toBe(401);
    expect(await raw('GET', '/%76%31/nothing-here')).toBe(401);
  });

  it('with the token, the same routes answer', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    expect(await raw('GET', '/v1/models', auth)).toBe(200);
    expect(await raw('GET', '/%761/models', auth)).toBe(200);
    expect(await raw('POST', '/v1/forward', auth, forward)).toBe(200);
    expect(await raw('GET', '/v2', auth)).toBe(200);
  });
});

describe('methods the router adds or answers by itself', () => {
  for (const path of ['/v1/models', '/v1/models/x', '/v1/runs', '/v2', '/v2/models/x']) {
    it(`HEAD ${path} (the route Fastify derives from GET) needs a token too`, async () => {
      for (const target of spellings(path)) {
        const status = await raw('HEAD', target);
        expect({ target, status }).toEqual({ target, status: 401 });
      }
    });
  }
});

describe('routes declared public stay public', () => {
  for (const path of [
    '/health',
    '/ready',
    '/metrics',
    '/problems',
    '/problems/not-found',
    '/openapi.json',
    '/docs',
    '/docs/static/index.html',
    '/',
    '/v2/health/live',
    '/v2/health/ready',
  ]) {
    it(`GET ${path}`, async () => {
      expect(await raw('GET', path)).not.toBe(401);
    });
  }
});
