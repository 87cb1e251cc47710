// `npm run docs:graph`: writes the folder graph of src/ (dependency-cruiser's own output, one line per
// folder) into docs/architecture.md between its graph markers. test/docs.test.ts fails when it drifts.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
export const ARCHITECTURE_DOC = join(root, 'docs', 'architecture.md');
const BEGIN = '<!-- folder graph: npm run docs:graph -->';
const END = '<!-- end of folder graph -->';

/** `depcruise src --include-only '^src/' --collapse '^src/[^/]+' --output-type text`, grouped by folder. */
export function folderGraph(): string {
  const args = ['src', '--config', '.dependency-cruiser.cjs', '--include-only', '^src/'];
  const r = spawnSync(
    join(root, 'node_modules', '.bin', 'depcruise'),
    [...args, '--collapse', '^src/[^/]+', '--output-type', 'text'],
    { cwd: root, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`depcruise failed: ${r.stderr || r.stdout}`);
  const edges = new Map<string, Set<string>>();
  for (const line of r.stdout.split('\n')) {
    const [from, to] = line.split(' → ').map((s) => s?.trim().replace(/^src\//, ''));
    if (!from || !to) continue;
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from)!.add(to);
  }
  const rows = [...edges.keys()].sort().map((f) => `${f.padEnd(12)} → ${[...edges.get(f)!].sort().join(', ')}`);
  return ['```', ...rows, '```'].join('\n');
}

/** The graph as docs/architecture.md has it now. */
export function documentedGraph(text = readFileSync(ARCHITECTURE_DOC, 'utf8')): string {
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/architecture.md has no ${BEGIN} … ${END} block`);
  return text.slice(a + BEGIN.length, b).trim();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = readFileSync(ARCHITECTURE_DOC, 'utf8');
  const old = documentedGraph(text);
  writeFileSync(ARCHITECTURE_DOC, text.replace(old, folderGraph()));
  console.log(`wrote the folder graph into ${ARCHITECTURE_DOC}`);
}
