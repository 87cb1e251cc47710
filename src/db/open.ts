// Opens the SQLite file under UNROLL_DATA_DIR (or :memory: for tests), in WAL mode, migrated.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations/index.js';

export type Db = Database.Database;

export const DB_FILE = 'unroll.sqlite';

export function openDatabase(dataDir: string | ':memory:'): Db {
  let file = ':memory:';
  if (dataDir !== ':memory:') {
    mkdirSync(dataDir, { recursive: true });
    file = join(dataDir, DB_FILE);
  }
  const db = new Database(file);
  // before the first table: a new file can then give the pages of deleted runs back (RunsRepo.reclaim)
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL'); // readers never wait for the writer
  db.pragma('synchronous = NORMAL'); // durable at each checkpoint; WAL keeps the file consistent
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`the database is at schema version ${current}, newer than this build knows (${MIGRATIONS.length})`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
