// Brings a database to the latest schema with Kysely's Migrator, over either dialect. On PostgreSQL the
// whole migration runs under a session advisory lock, so processes starting together on one fresh
// database take turns: the first migrates, the others find nothing left to do.
import { type Kysely, Migrator, sql } from 'kysely';
import { MIGRATIONS } from './migrations/index.js';
import type { Dialect } from './migrations/types.js';

/** The advisory lock every unroll process takes to migrate (any constant bigint; "unroll" in ASCII). */
const MIGRATION_LOCK = 0x756e726f6c6cn;
const MIGRATION_TABLE = 'kysely_migration';

export async function migrate(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') {
    await db.connection().execute(async (conn) => {
      await sql`SELECT pg_advisory_lock(${sql.lit(MIGRATION_LOCK)})`.execute(conn);
      try {
        await runMigrator(conn, dialect);
      } finally {
        await sql`SELECT pg_advisory_unlock(${sql.lit(MIGRATION_LOCK)})`.execute(conn);
      }
    });
  } else {
    await adoptUserVersion(db);
    await runMigrator(db, dialect);
  }
}

async function runMigrator(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const migrator = new Migrator({
    db,
    migrationTableName: MIGRATION_TABLE,
    provider: {
      getMigrations: async () =>
        Object.fromEntries(MIGRATIONS.map((m) => [m.name, { up: (k: Kysely<unknown>) => m.up(k, dialect) }])),
    },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(failed ? `migration ${failed} failed: ${why}` : `the database schema: ${why}`);
  }
}

/**
 * SQLite files made before the schema moved to Kysely record their version in PRAGMA user_version (one per
 * migration, in order): those migrations are marked as applied, once, so the file is used as it is.
 */
async function adoptUserVersion(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ user_version: number }>`PRAGMA user_version`.execute(db);
  const version = rows[0]?.user_version ?? 0;
  if (version === 0) return;
  if (version > MIGRATIONS.length)
    throw new Error(`the database is at schema version ${version}, newer than this build knows (${MIGRATIONS.length})`);
  await db.transaction().execute(async (trx) => {
    await trx.schema
      .createTable(MIGRATION_TABLE)
      .ifNotExists()
      .addColumn('name', 'varchar(255)', (c) => c.notNull().primaryKey())
      .addColumn('timestamp', 'varchar(255)', (c) => c.notNull())
      .execute();
    const timestamp = new Date().toISOString();
    for (const m of MIGRATIONS.slice(0, version))
      await sql`INSERT OR IGNORE INTO ${sql.table(MIGRATION_TABLE)} (name, timestamp) VALUES (${m.name}, ${timestamp})`.execute(
        trx,
      );
    await sql`PRAGMA user_version = 0`.execute(trx);
  });
}
