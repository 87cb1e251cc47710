// The course side of grading: rosters, token versions, the rules stored in an assignment's spec, and
// regrades (a submission's report replaced, the old one kept in the history). Async like the other
// repositories' interface, so the same calls serve the PostgreSQL implementation.
import type { AssignmentSpec } from '../grading/assignments.js';
import type { GradeReport } from '../schemas/reports.js';
import type { Db } from './open.js';

export interface RosterEntry {
  student: string;
  name: string | null;
  email: string | null;
}

export interface StoredAnswers {
  report: GradeReport;
  answers: Record<string, unknown>;
}

export interface RegradeRecord {
  submission: string;
  student: string;
  oldScore: number;
  newScore: number;
  reason: string;
  at: string;
}

export class GradingCourseRepo {
  constructor(private readonly db: Db) {}

  async updateSpec(id: string, spec: AssignmentSpec): Promise<void> {
    this.db
      .prepare('UPDATE assignments SET title = ?, spec = ? WHERE id = ?')
      .run(spec.title, JSON.stringify(spec), id);
  }

  /** Adds or updates roster entries (names and emails replaced, token versions kept). */
  async enroll(assignment: string, entries: readonly RosterEntry[]): Promise<void> {
    const upsert = this.db.prepare(
      `INSERT INTO roster (assignment_id, student, name, email, enrolled) VALUES (?, ?, ?, ?, 1)
       ON CONFLICT (assignment_id, student) DO UPDATE SET name = excluded.name, email = excluded.email, enrolled = 1`,
    );
    this.db.transaction(() => {
      for (const e of entries) upsert.run(assignment, e.student, e.name, e.email);
    })();
  }

  async roster(assignment: string): Promise<(RosterEntry & { tokenVersion: number })[]> {
    return this.db
      .prepare<[string], { student: string; name: string | null; email: string | null; token_version: number }>(
        'SELECT student, name, email, token_version FROM roster WHERE assignment_id = ? AND enrolled = 1 ORDER BY student',
      )
      .all(assignment)
      .map((r) => ({ student: r.student, name: r.name, email: r.email, tokenVersion: r.token_version }));
  }

  async hasRoster(assignment: string): Promise<boolean> {
    return (
      this.db.prepare('SELECT 1 FROM roster WHERE assignment_id = ? AND enrolled = 1 LIMIT 1').get(assignment) !==
      undefined
    );
  }

  /** The student's roster row: enrolled or not, and the version of their token (0 until rotated). */
  async student(assignment: string, student: string): Promise<{ enrolled: boolean; tokenVersion: number }> {
    const r = this.db
      .prepare<[string, string], { enrolled: number; token_version: number }>(
        'SELECT enrolled, token_version FROM roster WHERE assignment_id = ? AND student = ?',
      )
      .get(assignment, student);
    return { enrolled: r?.enrolled === 1, tokenVersion: r?.token_version ?? 0 };
  }

  /** Bumps the student's token version (creating a not-enrolled row if needed); returns the new version. */
  async rotateToken(assignment: string, student: string): Promise<number> {
    const r = this.db
      .prepare<[string, string], { token_version: number }>(
        `INSERT INTO roster (assignment_id, student, enrolled, token_version) VALUES (?, ?, 0, 1)
         ON CONFLICT (assignment_id, student) DO UPDATE SET token_version = token_version + 1
         RETURNING token_version`,
      )
      .get(assignment, student);
    return r!.token_version;
  }

  /** The student's earlier reports, oldest first (attempt numbers and which one counts come from them). */
  async reportsOf(assignment: string, student: string): Promise<GradeReport[]> {
    return this.db
      .prepare<[string, string], { report: string }>(
        'SELECT report FROM submissions WHERE assignment_id = ? AND student = ? ORDER BY created_at, rowid',
      )
      .all(assignment, student)
      .map((r) => JSON.parse(r.report));
  }

  /** Every submission's report and stored answers, in submission order. */
  async answers(assignment: string): Promise<StoredAnswers[]> {
    return this.db
      .prepare<[string], { report: string; answers: string }>(
        'SELECT report, answers FROM submissions WHERE assignment_id = ? ORDER BY created_at, rowid',
      )
      .all(assignment)
      .map((r) => ({ report: JSON.parse(r.report), answers: JSON.parse(r.answers) }));
  }

  /** Replaces a submission's report with its regrade and records old and new, in one transaction. */
  async regrade(id: string, old: GradeReport, next: GradeReport, reason: string, at: string): Promise<void> {
    this.db.transaction(() => {
      this.db
        .prepare('UPDATE submissions SET report = ?, score = ? WHERE id = ?')
        .run(JSON.stringify(next), next.score, old.id);
      this.db
        .prepare(
          `INSERT INTO regrades (id, assignment_id, submission_id, student, old_score, new_score, old_report, reason, at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(id, old.assignment, old.id, old.student, old.score, next.score, JSON.stringify(old), reason, at);
    })();
  }

  async regrades(assignment: string): Promise<RegradeRecord[]> {
    return this.db
      .prepare<
        [string],
        { submission_id: string; student: string; old_score: number; new_score: number; reason: string; at: string }
      >(
        'SELECT submission_id, student, old_score, new_score, reason, at FROM regrades WHERE assignment_id = ? ORDER BY at, rowid',
      )
      .all(assignment)
      .map((r) => ({
        submission: r.submission_id,
        student: r.student,
        oldScore: r.old_score,
        newScore: r.new_score,
        reason: r.reason,
        at: r.at,
      }));
  }
}
