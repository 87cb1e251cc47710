// Reading a roster an instructor posts (CSV with a header, or JSON) and writing the mail-merge CSV back.

import type { RosterEntry } from '../db/grading-course.repo.js';
import { RequestValidationError } from '../errors.js';
import { StudentId } from '../schemas/grading.js';
import type { RosterBody } from '../schemas/roster.js';
import { cell } from './formats.js';

/** RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((f) => f.trim() !== ''));
}

const ID_COLUMNS = ['student', 'id', 'sid', 'login', 'username'];

/**
 * A CSV roster: a header naming the id column (student, id, sid, login or username; else the first column)
 * and optionally name and email; or no header, one id per line. Every id is checked like a student id.
 */
export function rosterFromCsv(text: string): RosterEntry[] {
  const rows = parseCsv(text.replace(/^\uFEFF/, ''));
  if (!rows.length) throw new RequestValidationError([{ path: [], message: 'the roster is empty' }]);
  const head = rows[0].map((h) => h.trim().toLowerCase());
  const headed = head.some((h) => ID_COLUMNS.includes(h) || h === 'name' || h === 'email');
  const col = (names: string[]) => head.findIndex((h) => names.includes(h));
  const idCol = headed ? Math.max(0, col(ID_COLUMNS)) : 0;
  const nameCol = headed ? col(['name', 'display_name', 'full name']) : -1;
  const emailCol = headed ? col(['email', 'e-mail', 'mail']) : -1;
  const entries = (headed ? rows.slice(1) : rows).map((r) => ({
    student: (r[idCol] ?? '').trim(),
    name: nameCol >= 0 && r[nameCol]?.trim() ? r[nameCol].trim() : null,
    email: emailCol >= 0 && r[emailCol]?.trim() ? r[emailCol].trim() : null,
  }));
  return checked(entries, headed ? 2 : 1);
}

export function rosterFromJson(body: RosterBody): RosterEntry[] {
  const list = Array.isArray(body) ? body : body.students;
  return checked(
    list.map((s) =>
      typeof s === 'string'
        ? { student: s, name: null, email: null }
        : { name: null, email: null, ...s, student: s.id },
    ),
    0,
  );
}

/** Each id valid and listed once; `firstLine` numbers CSV lines in the messages (0: JSON indices). */
function checked(entries: { student: string; name: string | null; email: string | null }[], firstLine: number) {
  const issues = [];
  const seen = new Set<string>();
  for (const [i, e] of entries.entries()) {
    const where = firstLine ? [`line ${i + firstLine}`] : ['students', i];
    const ok = StudentId.safeParse(e.student);
    if (!ok.success) issues.push({ path: where, message: `"${e.student}": ${ok.error.issues[0].message}` });
    else if (seen.has(e.student)) issues.push({ path: where, message: `"${e.student}" is listed twice` });
    seen.add(e.student);
  }
  if (!entries.length) issues.push({ path: [], message: 'the roster lists no student' });
  if (issues.length) throw new RequestValidationError(issues);
  return entries;
}

/** The mail merge: student,token (then name,email), one row per student. */
export function tokensCsv(rows: readonly (RosterEntry & { token: string })[]): string {
  const lines = [
    'student,token,name,email',
    ...rows.map((r) => [r.student, r.token, r.name ?? '', r.email ?? ''].map(cell).join(',')),
  ];
  return `${lines.join('\r\n')}\r\n`;
}
