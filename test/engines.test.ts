// `npm ci` prints no EBADENGINE: every package the lockfile installs accepts the Node versions the project
// runs on (engines in package.json: Node 20 from 20.19, and the container's Node 24). Versions are chosen
// for it (package.json "overrides"), never warnings hidden.
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8'));
const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');

describe('Node versions', () => {
  const image = Number(/^FROM node:(\d+)-slim/m.exec(dockerfile)?.[1]);
  const versions = ['20.19.0', process.versions.node, `${image}.0.0`];

  it('the container runs a maintained LTS line, and engines admits it and Node 20', () => {
    expect([22, 24]).toContain(image);
    for (const v of versions) expect(semver.satisfies(v, pkg.engines.node), v).toBe(true);
  });

  it.each(versions)('every installed package accepts Node %s', (v) => {
    const refused = Object.entries(
      lock.packages as Record<string, { version?: string; optional?: boolean; engines?: unknown }>,
    )
      .filter(([, p]) => !p.optional)
      .map(([path, p]) => ({ path, node: (p.engines as { node?: string } | undefined)?.node }))
      .filter(({ node }) => typeof node === 'string' && !semver.satisfies(v, node));
    expect(refused).toEqual([]);
  });
});
