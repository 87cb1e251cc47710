// What a database failure means: "not there now" (down, restarting, unreachable, too slow), which the error
// handler answers with a 503 to retry, never a 500; or a unique key taken, which a service turns into a 409.

/** SQLSTATE classes and codes: 08 connection exception, 53 insufficient resources, 57 operator intervention. */
const SQLSTATE = /^(08|53|57)/;
const NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** node-postgres and pg-pool say these without a code; better-sqlite3 says the last of a closed database. */
const MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'Query read timeout',
  'Client has encountered a connection error and is not queryable',
  'Cannot use a pool after calling end on the pool',
  'driver has already been destroyed',
  'The database connection is not open',
];

export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NODE_CODES.has(code) || (code.length === 5 && SQLSTATE.test(code)))) return true;
    if ((e as { errors?: unknown[] }).errors?.some((x) => isDatabaseUnavailable(x))) return true;
    if (MESSAGES.some((m) => e.message.includes(m))) return true;
  }
  return false;
}

/** A UNIQUE or PRIMARY KEY constraint refused a row (PostgreSQL's 23505, SQLite's SQLITE_CONSTRAINT_UNIQUE/PRIMARYKEY). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
