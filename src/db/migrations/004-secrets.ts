// Server-wide secrets by name: the grading secret that keys student tokens lives with the records it keys,
// so every replica on one database derives the same tokens (it was a file beside the SQLite file).
import { bytes, type Migration } from './types.js';

export const secrets: Migration = {
  name: '004-secrets',
  async up(db, d) {
    await db.schema
      .createTable('secrets')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', bytes(d), (c) => c.notNull())
      .execute();
  },
};
