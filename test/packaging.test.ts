// The container's start command, run outside Docker: the Dockerfile's CMD and ENV (data dir and port moved
// to a temp dir and a free port) build and serve, keep data on the volume path, and stop gracefully.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const runStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

/** ENV of the final stage, as KEY=value pairs (continuation lines joined). */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of runStage.replace(/\\\n/g, ' ').matchAll(/^ENV (.+)$/gm)) {
    for (const kv of m[1].trim().split(/\s+/)) {
      const [k, v] = kv.split('=');
      env[k] = v;
    }
  }
  return env;
}
const cmd: string[] = JSON.parse(/^CMD (\[.*\])$/m.exec(runStage)![1]);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('the image start command', () => {
  let child: ChildProcess;
  let dataDir: string;
  let base: string;
  let output = '';

  beforeAll(async () => {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
    dataDir = mkdtempSync(join(tmpdir(), 'unroll-image-'));
    const port = await freePort();
    const env = { ...process.env, ...imageEnv(), UNROLL_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' };
    child = spawn(cmd[0] === 'node' ? process.execPath : cmd[0], cmd.slice(1), { cwd: root, env });
    child.stdout?.on('data', (d) => {
      output += d;
    });
    child.stderr?.on('data', (d) => {
      output += d;
    });
    base = `http://127.0.0.1:${port}`;
    const end = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await fetch(`${base}/health`)).ok) break;
      } catch {
        if (Date.now() > end) throw new Error(`the server did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }, 120_000);

  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs as the image says: HOST 0.0.0.0, a data volume, node dist/server.js', () => {
    expect(imageEnv()).toMatchObject({ HOST: '0.0.0.0', UNROLL_DATA_DIR: '/data' });
    expect(cmd).toEqual(['node', 'dist/server.js']);
    expect(runStage).toMatch(/^USER node$/m);
    expect(runStage).toMatch(/^HEALTHCHECK /m);
    expect(runStage).toMatch(/^COPY .*\bpublic \.\/public$/m); // the dashboard's files
  });

  it('serves, is ready with its pool, and writes its SQLite file to the data dir', async () => {
    const ready = (await (await fetch(`${base}/ready`)).json()) as { status: string };
    expect(ready.status).toBe('ok');
    const r = await fetch(`${base}/v1/models`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ config: { inputSize: 2, hiddenSize: 2, outputSize: 2 }, init: { seed: 1 } }),
    });
    expect(r.status).toBe(201);
    expect(readFileSync(join(dataDir, 'unroll.sqlite')).subarray(0, 15).toString()).toBe('SQLite format 3');
    // the built server finds the dashboard's files and uPlot
    expect(await (await fetch(`${base}/`)).text()).toContain('/js/main.js');
    expect((await fetch(`${base}/vendor/uplot/uPlot.esm.js`)).status).toBe(200);
  });

  it('on SIGTERM, lets an in-flight request finish, then exits 0', async () => {
    // about a second of BPTT in the pool
    const heavy = {
      model: { config: { inputSize: 1, hiddenSize: 384, outputSize: 2 }, init: { seed: 1 } },
      x: Array.from({ length: 16 }, () => Array.from({ length: 100 }, () => [0.5])),
      targets: Array.from({ length: 16 }, (_, i) => i % 2),
    };
    const inFlight = fetch(`${base}/v1/bptt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(heavy),
    });
    for (let running = 0; running === 0; ) {
      running = ((await (await fetch(`${base}/ready`)).json()) as { pool: { running: number } }).pool.running;
    }
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(((await r.json()) as { loss: number }).loss).toBeGreaterThan(0);
    expect(await exited).toBe(0);
    expect(output).toMatch(/shutting down/);
  });
});
