// What a migration is: one function over both dialects; the few type names that differ come from here.
import type { Kysely } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

export interface Migration {
  /** Sorted by name: the number in front is the order. Append only: a released migration never changes. */
  name: string;
  up(db: Kysely<unknown>, dialect: Dialect): Promise<void>;
}

/** Raw bytes: BLOB in SQLite, bytea in PostgreSQL. */
export const bytes = (d: Dialect) => (d === 'postgres' ? 'bytea' : 'blob');
/** float64 in both (PostgreSQL's `real` is float32). */
export const float = 'double precision';
