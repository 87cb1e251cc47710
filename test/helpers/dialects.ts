// The two stores the repository tests run on: SQLite in memory, and a fresh PostgreSQL database per file
// (skipped, and said so, when the server does not answer).
import { type Db, openDatabase } from '../../src/db/open.js';
import { type FreshDatabase, freshDatabase, PG_ADMIN_URL, pgReachable } from './pg.js';

export interface Dialect {
  name: 'sqlite' | 'postgres';
  /** Why this dialect's tests do not run here; null when they do. */
  skip: string | null;
  open(): Promise<Db>;
  /** Drops what open() created. */
  cleanup(): Promise<void>;
}

export async function dialects(tag: string): Promise<Dialect[]> {
  const up = await pgReachable();
  const skip = up ? null : `PostgreSQL is not reachable at ${PG_ADMIN_URL}: its repository tests are skipped`;
  if (skip) console.warn(`note: ${skip}`);
  const fresh: FreshDatabase[] = [];
  return [
    { name: 'sqlite', skip: null, open: () => openDatabase({ dataDir: ':memory:' }), cleanup: async () => {} },
    {
      name: 'postgres',
      skip,
      async open() {
        const f = await freshDatabase(tag);
        fresh.push(f);
        return openDatabase({ url: f.url, dataDir: ':memory:' });
      },
      async cleanup() {
        for (const f of fresh.splice(0)) await f.drop();
      },
    },
  ];
}
