// Autograding: assignments (their spec as JSON and the secret problems are derived from) and submissions
// (the answers as sent, the report as graded, and when). Deleting an assignment deletes its submissions.
// Submissions keep their insertion order in `rowid`: SQLite's own, an identity column on PostgreSQL.
import { bytes, float, type Migration } from './types.js';

export const grading: Migration = {
  name: '002-grading',
  async up(db, d) {
    await db.schema
      .createTable('assignments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('secret', bytes(d), (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('assignments_created').on('assignments').column('created_at').execute();
    let submissions = db.schema.createTable('submissions');
    if (d === 'postgres') submissions = submissions.addColumn('rowid', 'integer', (c) => c.generatedAlwaysAsIdentity());
    await submissions
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('assignment_id', 'text', (c) => c.notNull().references('assignments.id').onDelete('cascade'))
      .addColumn('student', 'text', (c) => c.notNull())
      .addColumn('answers', 'text', (c) => c.notNull())
      .addColumn('report', 'text', (c) => c.notNull())
      .addColumn('score', float, (c) => c.notNull())
      .addColumn('max_score', float, (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('submissions_by_student')
      .on('submissions')
      .columns(['assignment_id', 'student', 'created_at'])
      .execute();
    await db.schema
      .createIndex('submissions_by_time')
      .on('submissions')
      .columns(['assignment_id', 'created_at'])
      .execute();
  },
};
