// The course side of grading: rosters, token versions, the rules stored in an assignment's spec, and
// regrades (a submission's report replaced, the old one kept in the history), over SQLite or PostgreSQL.
import type { Kysely } from 'kysely';
import type { AssignmentSpec } from '../schemas/grading.js';
import type { GradeReport } from '../schemas/reports.js';
import type { Db } from './open.js';
import type { Schema } from './schema.js';

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
  private readonly db: Kysely<Schema>;

  constructor(db: Db) {
    this.db = db.kysely;
  }

  async updateSpec(id: string, spec: AssignmentSpec): Promise<void> {
    await this.db
      .updateTable('assignments')
      .set({ title: spec.title, spec: JSON.stringify(spec) })
      .where('id', '=', id)
      .execute();
  }

  /** Adds or updates roster entries (names and emails replaced, token versions kept). */
  async enroll(assignment: string, entries: readonly RosterEntry[]): Promise<void> {
    if (!entries.length) return;
    await this.db.transaction().execute(async (trx) => {
      for (const e of entries)
        await trx
          .insertInto('roster')
          .values({ assignment_id: assignment, student: e.student, name: e.name, email: e.email, enrolled: 1 })
          .onConflict((oc) =>
            oc.columns(['assignment_id', 'student']).doUpdateSet({ name: e.name, email: e.email, enrolled: 1 }),
          )
          .execute();
    });
  }

  async roster(assignment: string): Promise<(RosterEntry & { tokenVersion: number })[]> {
    const rows = await this.db
      .selectFrom('roster')
      .select(['student', 'name', 'email', 'token_version'])
      .where('assignment_id', '=', assignment)
      .where('enrolled', '=', 1)
      .orderBy('student')
      .execute();
    return rows.map((r) => ({ student: r.student, name: r.name, email: r.email, tokenVersion: r.token_version }));
  }

  async hasRoster(assignment: string): Promise<boolean> {
    const r = await this.db
      .selectFrom('roster')
      .select('student')
      .where('assignment_id', '=', assignment)
      .where('enrolled', '=', 1)
      .limit(1)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** The student's roster row: enrolled or not, and the version of their token (0 until rotated). */
  async student(assignment: string, student: string): Promise<{ enrolled: boolean; tokenVersion: number }> {
    const r = await this.db
      .selectFrom('roster')
      .select(['enrolled', 'token_version'])
      .where('assignment_id', '=', assignment)
      .where('student', '=', student)
      .executeTakeFirst();
    return { enrolled: r?.enrolled === 1, tokenVersion: r?.token_version ?? 0 };
  }

  /** Bumps the student's token version (creating a not-enrolled row if needed); returns the new version. */
  async rotateToken(assignment: string, student: string): Promise<number> {
    const r = await this.db
      .insertInto('roster')
      .values({ assignment_id: assignment, student, enrolled: 0, token_version: 1 })
      .onConflict((oc) =>
        oc
          .columns(['assignment_id', 'student'])
          .doUpdateSet((eb) => ({ token_version: eb('roster.token_version', '+', 1) })),
      )
      .returning('token_version')
      .executeTakeFirstOrThrow();
    return r.token_version;
  }

  /** The student's earlier reports, oldest first (attempt numbers and which one counts come from them). */
  async reportsOf(assignment: string, student: string): Promise<GradeReport[]> {
    const rows = await this.db
      .selectFrom('submissions')
      .select('report')
      .where('assignment_id', '=', assignment)
      .where('student', '=', student)
      .orderBy('created_at')
      .orderBy('rowid')
      .execute();
    return rows.map((r) => JSON.parse(r.report));
  }

  /** Every submission's report and stored answers, in submission order. */
  async answers(assignment: string): Promise<StoredAnswers[]> {
    const rows = await this.db
      .selectFrom('submissions')
      .select(['report', 'answers'])
      .where('assignment_id', '=', assignment)
      .orderBy('created_at')
      .orderBy('rowid')
      .execute();
    return rows.map((r) => ({ report: JSON.parse(r.report), answers: JSON.parse(r.answers) }));
  }

  /** Replaces a submission's report with its regrade and records old and new, in one transaction. */
  async regrade(id: string, old: GradeReport, next: GradeReport, reason: string, at: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('submissions')
        .set({ report: JSON.stringify(next), score: next.score })
        .where('id', '=', old.id)
        .execute();
      await trx
        .insertInto('regrades')
        .values({
          id,
          assignment_id: old.assignment,
          submission_id: old.id,
          student: old.student,
          old_score: old.score,
          new_score: next.score,
          old_report: JSON.stringify(old),
          reason,
          at,
        })
        .execute();
    });
  }

  async regrades(assignment: string): Promise<RegradeRecord[]> {
    const rows = await this.db
      .selectFrom('regrades')
      .select(['submission_id', 'student', 'old_score', 'new_score', 'reason', 'at'])
      .where('assignment_id', '=', assignment)
      .orderBy('at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      submission: r.submission_id,
      student: r.student,
      oldScore: r.old_score,
      newScore: r.new_score,
      reason: r.reason,
      at: r.at,
    }));
  }
}
