// The real server as a child process (npm start's entry, under tsx) on a port of its own, for the tests
// where the process itself is the point: SIGKILL mid-run, restart, several processes on one store.
import { type ChildProcess, spawn } from 'node:child_process';

export interface ServerProcess {
  child: ChildProcess;
  base: string;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (a graceful shutdown), resolved once the process is gone. */
  stop(): Promise<void>;
}

/** Starts src/server.ts with `env` over the test's environment (and `nodeArgs` before it, e.g. --cpu-prof); resolves with its base URL once it listens. */
export function startServer(env: Record<string, string>, nodeArgs: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (s: NodeJS.Signals) => async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(s);
    await exited;
  };
  const kill = signal('SIGKILL');
  const stop = signal('SIGTERM');
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk;
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.resume(); // keep draining, so a chatty server never blocks on a full pipe
        resolve({ child, base: m[1], kill, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the server exited with ${code} before listening:\n${out}`)));
  });
}

/** Polls GET /v1/runs/:id until `done` holds (or the deadline passes) and returns the run. */
export async function waitForRun(
  base: string,
  id: string,
  done: (run: { status: string; step: number }) => boolean,
  timeoutMs = 120_000,
  // biome-ignore lint/suspicious/noExplicitAny: the tests check the fields they read
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = (await (await fetch(`${base}/v1/runs/${id}`)).json()) as { status: string; step: number };
    if (done(run)) return run;
    if (Date.now() > deadline) throw new Error(`run ${id} is still ${run.status} at step ${run.step}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function postRun(base: string, body: object): Promise<string> {
  const r = await fetch(`${base}/v1/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (r.status !== 202) throw new Error(`POST /v1/runs: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { id: string }).id;
}
