// Stored models: config as JSON, weights as little-endian float64 in WEIGHT_KEYS order (exact, compact).
import { bytes, type Migration } from './types.js';

export const models: Migration = {
  name: '001-models',
  async up(db, d) {
    await db.schema
      .createTable('models')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.unique())
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('weights', bytes(d), (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('models_created').on('models').column('created_at').execute();
  },
};
