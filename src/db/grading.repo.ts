// Assignments and submissions: queries and row mappers. Reports are stored as graded (JSON).
import type { Kysely, Selectable } from 'kysely';
import type { AssignmentSpec } from '../schemas/grading.js';
import type { GradeReport } from '../schemas/reports.js';
import type { Db } from './open.js';
import type { AssignmentsTable, Schema } from './schema.js';

export interface StoredAssignment {
  id: string;
  spec: AssignmentSpec;
  /** Keys the per-student problems; never leaves the server. */
  secret: Buffer;
  createdAt: string;
}

export type Keep = 'all' | 'latest' | 'best';

const toAssignment = (r: Selectable<AssignmentsTable>): StoredAssignment => ({
  id: r.id,
  spec: JSON.parse(r.spec),
  secret: r.secret,
  createdAt: r.created_at,
});

export class GradingRepo {
  private readonly db: Kysely<Schema>;

  constructor(db: Db) {
    this.db = db.kysely;
  }

  async createAssignment(a: StoredAssignment): Promise<void> {
    await this.db
      .insertInto('assignments')
      .values({
        id: a.id,
        title: a.spec.title,
        spec: JSON.stringify(a.spec),
        secret: a.secret,
        created_at: a.createdAt,
      })
      .execute();
  }

  async getAssignment(id: string): Promise<StoredAssignment | undefined> {
    const r = await this.db.selectFrom('assignments').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toAssignment(r) : undefined;
  }

  async listAssignments(): Promise<StoredAssignment[]> {
    const rows = await this.db
      .selectFrom('assignments')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
    return rows.map(toAssignment);
  }

  /** Deletes the assignment and (ON DELETE CASCADE) its submissions. */
  async deleteAssignment(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('assignments').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  async addSubmission(report: GradeReport, answers: unknown): Promise<void> {
    await this.db
      .insertInto('submissions')
      .values({
        id: report.id,
        assignment_id: report.assignment,
        student: report.student,
        answers: JSON.stringify(answers),
        report: JSON.stringify(report),
        score: report.score,
        max_score: report.maxScore,
        created_at: report.submittedAt,
      })
      .execute();
  }

  async getSubmission(assignment: string, id: string): Promise<GradeReport | undefined> {
    const r = await this.db
      .selectFrom('submissions')
      .select('report')
      .where('assignment_id', '=', assignment)
      .where('id', '=', id)
      .executeTakeFirst();
    return r ? JSON.parse(r.report) : undefined;
  }

  /** Every submission in the order it came, or one per student: the newest, or the best (then the newest). */
  async listSubmissions(assignment: string, keep: Keep, student: string | null): Promise<GradeReport[]> {
    const of = this.db
      .selectFrom('submissions')
      .where('assignment_id', '=', assignment)
      .$if(student !== null, (q) => q.where('student', '=', student!));
    if (keep === 'all') {
      const rows = await of.select('report').orderBy('rowid').execute();
      return rows.map((r) => JSON.parse(r.report));
    }
    const ranked = of.select((eb) => [
      'report',
      'student',
      eb.fn
        .agg<number>('row_number')
        .over((o) => {
          const p = o.partitionBy('student');
          return keep === 'best'
            ? p.orderBy('score', 'desc').orderBy('created_at', 'desc').orderBy('rowid', 'desc')
            : p.orderBy('created_at', 'desc').orderBy('rowid', 'desc');
        })
        .as('rank'),
    ]);
    const rows = await this.db
      .selectFrom(ranked.as('ranked'))
      .select('report')
      .where('rank', '=', 1)
      .orderBy('student')
      .execute();
    return rows.map((r) => JSON.parse(r.report));
  }
}
