// `npm run docs:config`: writes docs/configuration.md, the table of every setting, from ConfigSchema
// (src/config.ts): the names and defaults from the schema, each description from the doc comment above its
// key (a `@default` tag there replaces a default that depends on the machine). test/config-docs.test.ts
// fails when the file drifts from the schema, or when a setting has no comment.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { ConfigSchema } from '../src/config.js';

const root = join(import.meta.dirname, '..');
export const CONFIG_DOC = join(root, 'docs', 'configuration.md');
const SOURCE = join(root, 'src', 'config.ts');

interface Doc {
  text: string;
  shownDefault?: string;
}

/** Each key of the ConfigSchema object literal in src/config.ts → its doc comment. */
function comments(): Map<string, Doc> {
  const file = ts.createSourceFile(SOURCE, readFileSync(SOURCE, 'utf8'), ts.ScriptTarget.Latest, true);
  const docs = new Map<string, Doc>();
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name)) {
      const jsdoc = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
      if (jsdoc.length) {
        const doc = jsdoc[jsdoc.length - 1];
        const text = ts.getTextOfJSDocComment(doc.comment) ?? '';
        const tag = doc.tags?.find((t) => t.tagName.text === 'default');
        docs.set(node.name.text, {
          text: text.replace(/\s+/g, ' ').trim(),
          shownDefault: tag ? ts.getTextOfJSDocComment(tag.comment)?.trim() : undefined,
        });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return docs;
}

const MIB = 1024 * 1024;
function formatDefault(key: string, value: unknown): string {
  if (value === undefined) return 'unset';
  if (typeof value === 'number') {
    if (/BYTES|PAYLOAD|BUDGET/.test(key) && value % 1024 === 0)
      return value % MIB === 0 ? `${value / MIB} MiB` : `${value / 1024} KiB`;
    return value >= 10_000 ? value.toLocaleString('en-US').replaceAll(',', ' ') : String(value);
  }
  return `\`${String(value)}\``;
}

/** The schema's default for a key, or undefined when it has none. */
function schemaDefault(key: string): unknown {
  const field = ConfigSchema.shape[key as keyof typeof ConfigSchema.shape];
  const r = field.safeParse(undefined);
  return r.success ? r.data : undefined;
}

/** Settings without a doc comment (the test lists them). */
export function undocumented(): string[] {
  const docs = comments();
  return Object.keys(ConfigSchema.shape).filter((k) => !docs.get(k)?.text);
}

export function configDoc(): string {
  const docs = comments();
  const rows = Object.keys(ConfigSchema.shape).map((key) => {
    const d = docs.get(key);
    const shown = d?.shownDefault ?? formatDefault(key, schemaDefault(key));
    return [`\`${key}\``, shown, (d?.text ?? '').replaceAll('|', '\\|')];
  });
  const head = ['variable', 'default', 'what it does'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [
    '# Configuration',
    '',
    '<!-- generated from ConfigSchema in src/config.ts by `npm run docs:config`; edit the schema, not this file -->',
    '',
    'Every setting is an environment variable, read once by `loadConfig` in `src/config.ts` (zod-parsed; an',
    'invalid value stops the process and names the variable). Comma-separated lists may be left unset.',
    '',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(CONFIG_DOC, configDoc());
  console.log(`wrote ${CONFIG_DOC}`);
}
