// nginx in front of api processes for the cluster suite and bench:cluster: docker/nginx.conf with its
// upstreams and port replaced (the lines marked "# cluster-test: ..."), as a child process of the caller.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../helpers/own-redis.js';

export const NGINX = '/usr/sbin/nginx';

/** docker/nginx.conf with the given upstreams ("host:port") and listen port. */
export function nginxConfig(upstreams: string[], port: number): string {
  const lines = readFileSync(new URL('../../docker/nginx.conf', import.meta.url), 'utf8').split('\n');
  const out: string[] = [];
  for (const line of lines) {
    if (line.includes('# cluster-test: upstream')) {
      if (!out.some((l) => l.includes('# cluster-test: upstream')))
        for (const u of upstreams) out.push(`    server ${u}; # cluster-test: upstream`);
    } else if (line.includes('# cluster-test: listen')) out.push(`    listen 127.0.0.1:${port};`);
    else out.push(line);
  }
  return out.join('\n');
}

export interface Nginx {
  base: string;
  stop(): Promise<void>;
}

/** Starts nginx (its prefix under `dir`) in front of `upstreams`; null when it is not installed. */
export async function startNginx(upstreams: string[], dir: string): Promise<Nginx | null> {
  if (!existsSync(NGINX)) return null;
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'nginx.conf'), nginxConfig(upstreams, port));
  const child: ChildProcess = spawn(
    NGINX,
    ['-p', dir, '-c', 'nginx.conf', '-e', join(dir, 'error.log'), '-g', 'daemon off;'],
    { stdio: 'inherit' },
  );
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await gone;
  };
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${base}/health`);
      return { base, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error('nginx did not answer');
}
