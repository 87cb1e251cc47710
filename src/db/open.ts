// Opens the store: SQLite under UNROLL_DATA_DIR (or :memory: for tests) by default, PostgreSQL when a URL is
// given; either way a Kysely instance over a migrated schema. Nothing above this file knows which it got.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { sweepOrphanBlobs } from './blobs.js';
import { migrate } from './migrate.js';
import type { Dialect } from './migrations/types.js';
import type { Schema } from './schema.js';

export const DB_FILE = 'unroll.sqlite';

export interface Db {
  readonly dialect: Dialect;
  readonly kysely: Kysely<Schema>;
  /** Where the records are: the SQLite file, ':memory:', or the PostgreSQL URL without its password. */
  readonly name: string;
  /** The SQLite file's directory; null in memory and on PostgreSQL. */
  readonly dataDir: string | null;
  /** True when the database answers a trivial query now. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** postgres://…: PostgreSQL; undefined: SQLite in `dataDir`. */
  url?: string;
  dataDir: string | ':memory:';
  /** PostgreSQL: connections this process keeps at most. */
  poolSize?: number;
  /** PostgreSQL: how long a connection attempt, or one statement, may take before it fails (so a request gets a 503, never hangs). */
  timeoutMs?: number;
}

const DEFAULT_POOL = 10;
const DEFAULT_TIMEOUT_MS = 5000;

export async function openDatabase(opts: StoreOptions): Promise<Db> {
  if (opts.url) await migratePostgres(opts.url, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const db = opts.url ? openPostgres(opts.url, opts) : openSqlite(opts.dataDir);
  try {
    if (!opts.url) await migrate(db.kysely as Kysely<unknown>, db.dialect);
    // the blobs a stopped process left without an owner (a model's weights written, its row never)
    await sweepOrphanBlobs(db.kysely);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

/**
 * Migrates on a connection of its own, without the statement timeouts of the service's pool: waiting for
 * another process's migration (the advisory lock), or a migration that rewrites a large table, may take
 * longer than any request should. Only reaching the server is bounded.
 */
async function migratePostgres(url: string, connectTimeoutMs: number): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: connectTimeoutMs });
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const kysely = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrate(kysely, 'postgres');
  } finally {
    await kysely.destroy();
  }
}

function openSqlite(dataDir: string | ':memory:'): Db {
  let file = ':memory:';
  if (dataDir !== ':memory:') {
    mkdirSync(dataDir, { recursive: true });
    file = join(dataDir, DB_FILE);
    // it holds the grading secret: private to the server's user, as the secret's own file was
    if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
    else chmodSync(file, 0o600);
  }
  const sqlite = new Database(file);
  // before the first table: a new file can then give the pages of deleted runs back (RunsRepo.reclaim)
  sqlite.pragma('auto_vacuum = INCREMENTAL');
  sqlite.pragma('journal_mode = WAL'); // readers never wait for the writer
  sqlite.pragma('synchronous = NORMAL'); // durable at each checkpoint; WAL keeps the file consistent
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const kysely = new Kysely<Schema>({ dialect: new SqliteDialect({ database: sqlite }) });
  return {
    dialect: 'sqlite',
    kysely,
    name: sqlite.name,
    dataDir: dataDir === ':memory:' ? null : dataDir,
    ping: async () => sqlite.open && ping(kysely),
    close: async () => {
      if (sqlite.open) await kysely.destroy();
    },
  };
}

function openPostgres(url: string, opts: StoreOptions): Db {
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? DEFAULT_POOL,
    connectionTimeoutMillis: timeout,
    // the server cancels a statement that runs too long; the client gives up on one the server never answers
    statement_timeout: timeout,
    query_timeout: timeout + 1000,
    idleTimeoutMillis: 30_000,
  });
  // a connection the server drops (a restart, say) is an event, not a crash: an idle one is the pool's
  // 'error'; one checked out emits on its client (its query fails too, and the pool replaces it)
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const kysely = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  let closed = false;
  return {
    dialect: 'postgres',
    kysely,
    name: redact(url),
    dataDir: null,
    ping: async () => !closed && ping(kysely),
    close: async () => {
      if (closed) return;
      closed = true;
      await kysely.destroy();
    },
  };
}

async function ping(kysely: Kysely<Schema>): Promise<boolean> {
  try {
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(kysely);
    return Number(rows[0]?.one) === 1;
  } catch {
    return false;
  }
}

/** The URL as logs and /ready may show it: without a password. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable)';
  }
}
