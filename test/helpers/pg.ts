// PostgreSQL for tests: a fresh database per test file (or per app) on the server named by
// UNROLL_TEST_DATABASE_URL (default: the machine's shared one at 127.0.0.1:5432), dropped afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server tests create their databases on; its own database is only used to CREATE and DROP. */
export const PG_ADMIN_URL = process.env.UNROLL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Whether the PostgreSQL server answers (within a second). */
export async function pgReachable(url = PG_ADMIN_URL): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

async function admin<T>(url: string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

export interface FreshDatabase {
  url: string;
  drop(): Promise<void>;
}

/** CREATE DATABASE unroll_<tag>_<random> on the admin server; drop() removes it (closing what is left connected). */
export async function freshDatabase(tag = 'store', adminUrl = PG_ADMIN_URL): Promise<FreshDatabase> {
  const name = `unroll_${tag}_${randomBytes(6).toString('hex')}`;
  await admin(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: () => admin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}
