// A real course on an assignment: its roster (ids with optional names and emails, and each student's token
// version, bumped to rotate a token; rows with enrolled = 0 only carry a rotated token) and the history of
// regrades (old and new score, the report before, a reason, a timestamp). Both go with their assignment.
import { float, type Migration } from './types.js';

export const course: Migration = {
  name: '005-course',
  async up(db) {
    await db.schema
      .createTable('roster')
      .addColumn('assignment_id', 'text', (c) => c.notNull().references('assignments.id').onDelete('cascade'))
      .addColumn('student', 'text', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('email', 'text')
      .addColumn('enrolled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('token_version', 'integer', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('roster_pk', ['assignment_id', 'student'])
      .execute();
    await db.schema
      .createTable('regrades')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('assignment_id', 'text', (c) => c.notNull().references('assignments.id').onDelete('cascade'))
      .addColumn('submission_id', 'text', (c) => c.notNull().references('submissions.id').onDelete('cascade'))
      .addColumn('student', 'text', (c) => c.notNull())
      .addColumn('old_score', float, (c) => c.notNull())
      .addColumn('new_score', float, (c) => c.notNull())
      .addColumn('old_report', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('regrades_by_assignment').on('regrades').columns(['assignment_id', 'at']).execute();
  },
};
