// Assignments and submissions: prepared statements and row mappers. Reports are stored as graded (JSON).
import type { AssignmentSpec } from '../schemas/grading.js';
import type { GradeReport } from '../schemas/reports.js';
import type { Db } from './open.js';

export interface StoredAssignment {
  id: string;
  spec: AssignmentSpec;
  /** Keys the per-student problems; never leaves the server. */
  secret: Buffer;
  createdAt: string;
}

interface AssignmentRow {
  id: string;
  spec: string;
  secret: Buffer;
  created_at: string;
}

export type Keep = 'all' | 'latest' | 'best';

const toAssignment = (r: AssignmentRow): StoredAssignment => ({
  id: r.id,
  spec: JSON.parse(r.spec),
  secret: r.secret,
  createdAt: r.created_at,
});

// one per student, ranked within each student: the newest first, or the highest score (then the newest)
const ranked = (order: string) => `
  SELECT report FROM (
    SELECT report, student, ROW_NUMBER() OVER (PARTITION BY student ORDER BY ${order}) AS rank
    FROM submissions WHERE assignment_id = @assignment AND (@student IS NULL OR student = @student)
  ) WHERE rank = 1 ORDER BY student`;

export class GradingRepo {
  private readonly insertAssignment;
  private readonly byId;
  private readonly all;
  private readonly deleteStmt;
  private readonly insertSubmission;
  private readonly submission;
  private readonly lists: Record<Keep, ReturnType<Db['prepare']>>;

  constructor(db: Db) {
    this.insertAssignment = db.prepare(
      'INSERT INTO assignments (id, title, spec, secret, created_at) VALUES (@id, @title, @spec, @secret, @createdAt)',
    );
    this.byId = db.prepare<[string], AssignmentRow>('SELECT * FROM assignments WHERE id = ?');
    this.all = db.prepare<[], AssignmentRow>('SELECT * FROM assignments ORDER BY created_at DESC, id');
    this.deleteStmt = db.prepare('DELETE FROM assignments WHERE id = ?');
    this.insertSubmission = db.prepare(
      `INSERT INTO submissions (id, assignment_id, student, answers, report, score, max_score, created_at)
       VALUES (@id, @assignment, @student, @answers, @report, @score, @maxScore, @submittedAt)`,
    );
    this.submission = db.prepare<[string, string], { report: string }>(
      'SELECT report FROM submissions WHERE assignment_id = ? AND id = ?',
    );
    this.lists = {
      all: db.prepare(
        'SELECT report FROM submissions WHERE assignment_id = @assignment AND (@student IS NULL OR student = @student) ORDER BY rowid',
      ),
      latest: db.prepare(ranked('created_at DESC, rowid DESC')),
      best: db.prepare(ranked('score DESC, created_at DESC, rowid DESC')),
    };
  }

  createAssignment(a: StoredAssignment): void {
    this.insertAssignment.run({
      id: a.id,
      title: a.spec.title,
      spec: JSON.stringify(a.spec),
      secret: a.secret,
      createdAt: a.createdAt,
    });
  }

  getAssignment(id: string): StoredAssignment | undefined {
    const r = this.byId.get(id);
    return r ? toAssignment(r) : undefined;
  }

  listAssignments(): StoredAssignment[] {
    return this.all.all().map(toAssignment);
  }

  /** Deletes the assignment and (ON DELETE CASCADE) its submissions. */
  deleteAssignment(id: string): boolean {
    return this.deleteStmt.run(id).changes > 0;
  }

  addSubmission(report: GradeReport, answers: unknown): void {
    this.insertSubmission.run({
      id: report.id,
      assignment: report.assignment,
      student: report.student,
      answers: JSON.stringify(answers),
      report: JSON.stringify(report),
      score: report.score,
      maxScore: report.maxScore,
      submittedAt: report.submittedAt,
    });
  }

  getSubmission(assignment: string, id: string): GradeReport | undefined {
    const r = this.submission.get(assignment, id);
    return r ? JSON.parse(r.report) : undefined;
  }

  listSubmissions(assignment: string, keep: Keep, student: string | null): GradeReport[] {
    return (this.lists[keep].all({ assignment, student }) as { report: string }[]).map((r) => JSON.parse(r.report));
  }
}
