// The shell and Python examples of the README and docs/*.md, as test/docs/examples.test.ts runs them.
// A fenced block is an example when its language is sh, bash, shell or python; everything else (text,
// json, a bare fence) is not run. What the test changes in a block, and nothing else:
//   - the server address: 127.0.0.1:3000 and localhost:3000 become the test's fresh server;
//   - `curl` fails on an HTTP error (--fail-with-body), unless the line's comment names the 4xx it shows
//     (`# → 400 …`), so that an example that answers an error is a failure, not a pass;
//   - the commands that start the server (`npm start`, `npm ci && npm start`) are not run: the test has
//     started it; assignments before them on the line (`T=teacher;`) still are;
// and a block of the project's own tooling (npm test, npm run …, npx …, docker …) is listed, not run.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DocExample {
  file: string;
  /** 1-based line of the opening fence */
  line: number;
  lang: 'sh' | 'python';
  source: string;
  /** why it is not run, when it is not */
  notRun?: string;
}

const SHELL = new Set(['sh', 'bash', 'shell']);
const PYTHON = new Set(['python', 'py', 'python3']);
const FENCE = /^```([\w-]*)[^\n]*\n([\s\S]*?)^```[ \t]*$/gm;

/** Tooling a user runs in a clone, not against the server: npm scripts, npx, docker, git. */
const TOOLING = /^\s*(npm (test|run|ci|install)\b|npx\b|docker\b|git\b|\.ci\/run\b|scripts\/)/;
const STARTS_SERVER = /\bnpm (ci\s*&&\s*npm )?start\b/;

/** The documents whose examples run, in order: the README first, then docs/ by name. */
export function docFiles(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

export function extractExamples(root: string, file: string): DocExample[] {
  const text = readFileSync(join(root, file), 'utf8');
  const out: DocExample[] = [];
  for (const m of text.matchAll(FENCE)) {
    const lang = SHELL.has(m[1]) ? 'sh' : PYTHON.has(m[1]) ? 'python' : null;
    if (!lang) continue;
    const line = text.slice(0, m.index).split('\n').length;
    const source = m[2];
    const ex: DocExample = { file, line, lang, source };
    if (lang === 'sh') {
      const commands = source.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
      // a block that only starts the server (which the test has done) or runs the project's tooling
      const starts = commands.filter((l) => STARTS_SERVER.test(l) && /^\s*(npm|[A-Z_]+=\S*\s+npm)\b/.test(l));
      const tooling = commands.filter((l) => TOOLING.test(l) && !STARTS_SERVER.test(l));
      if (commands.length > 0 && starts.length + tooling.length === commands.length)
        ex.notRun = [
          starts.length ? 'starts the server (the test has started one)' : '',
          tooling.length ? `the project's tooling (${tooling[0].trim().split(/\s+/).slice(0, 2).join(' ')} …)` : '',
        ]
          .filter(Boolean)
          .join('; ');
    }
    out.push(ex);
  }
  return out;
}

/** A shell block as the test runs it against the server at `base` (see the comment at the top). */
export function shellScript(source: string, base: string): string {
  const lines = source.split('\n').map((l) => {
    if (l.trim().startsWith('#')) return l;
    let s = l;
    if (STARTS_SERVER.test(s)) {
      // keep what precedes the start on the line (`T=teacher;`), drop the start itself
      const keep = s
        .split(';')
        .filter((part) => !STARTS_SERVER.test(part))
        .join(';');
      s = `${keep}${keep.trim() ? ';' : ''} : started by the test`;
    }
    if (/^\s*npm test\b/.test(s)) s = ': npm test is not run from inside itself';
    const shows4xx = /#.*→\s*4\d\d/.test(s);
    if (!shows4xx) s = s.replace(/(^|[\s;|&(])curl /g, '$1curl --fail-with-body ');
    return s;
  });
  return withServer(lines.join('\n'), base);
}

export function withServer(source: string, base: string): string {
  return source.replace(/(https?:\/\/)?(127\.0\.0\.1|localhost):3000/g, base);
}
