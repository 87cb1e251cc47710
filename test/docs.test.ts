// The README and docs/ stand on their own in a clone: no path outside the repository, and every relative
// link points at a file that exists.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { documentedGraph, folderGraph } from '../scripts/architecture-graph.js';

const root = join(import.meta.dirname, '..');
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

describe.each(pages)('%s', (page) => {
  const text = readFileSync(join(root, page), 'utf8');

  it('names no file outside the repository (../shared is not in a clone)', () => {
    expect(text).not.toMatch(/\.\.\/shared/);
  });

  it('links only to files that exist', () => {
    const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((t) => !/^[a-z]+:|^#/.test(t));
    for (const t of targets)
      expect(existsSync(join(root, dirname(page), t.split('#')[0])), `${page} → ${t}`).toBe(true);
  });
});

describe('docs/architecture.md', () => {
  it('shows the folder graph dependency-cruiser reports today (run npm run docs:graph)', () => {
    expect(documentedGraph() === folderGraph(), 'the folder graph drifted: npm run docs:graph').toBe(true);
  });
});
