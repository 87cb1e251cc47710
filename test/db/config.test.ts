// The store's settings: a malformed UNROLL_DATABASE_URL names itself; Redis without PostgreSQL is refused
// with the reason; what the error handler calls "the database is unavailable".
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { isDatabaseUnavailable } from '../../src/db/errors.js';

describe('store configuration', () => {
  it('UNROLL_DATABASE_URL must be a postgres:// URL, and the error names the setting', () => {
    expect(() => loadConfig({ UNROLL_DATABASE_URL: 'not a url' })).toThrow(/UNROLL_DATABASE_URL: expected a URL/);
    expect(() => loadConfig({ UNROLL_DATABASE_URL: 'mysql://h/db' })).toThrow(/UNROLL_DATABASE_URL/);
    expect(loadConfig({ UNROLL_DATABASE_URL: 'postgres://u@h:5432/db' }).UNROLL_DATABASE_URL).toBe(
      'postgres://u@h:5432/db',
    );
    expect(loadConfig({}).UNROLL_DATABASE_URL).toBeUndefined();
  });

  it('refuses UNROLL_REDIS_URL without UNROLL_DATABASE_URL, saying why', () => {
    expect(() => loadConfig({ UNROLL_REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(
      /UNROLL_REDIS_URL: requires UNROLL_DATABASE_URL \(processes that share Redis must share one PostgreSQL/,
    );
    expect(
      loadConfig({ UNROLL_REDIS_URL: 'redis://127.0.0.1:6379', UNROLL_DATABASE_URL: 'postgres://h/db' })
        .UNROLL_REDIS_URL,
    ).toBe('redis://127.0.0.1:6379');
  });

  it('tells a database that is not there from a faulty query', () => {
    const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });
    expect(isDatabaseUnavailable(coded('ECONNREFUSED'))).toBe(true);
    expect(isDatabaseUnavailable(coded('57P01', 'terminating connection due to administrator command'))).toBe(true);
    expect(isDatabaseUnavailable(coded('57014', 'canceling statement due to statement timeout'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([coded('ECONNREFUSED')]))).toBe(true);
    expect(isDatabaseUnavailable(new TypeError('The database connection is not open'))).toBe(true);
    expect(isDatabaseUnavailable(coded('23505', 'duplicate key'))).toBe(false);
    expect(isDatabaseUnavailable(coded('42P01', 'relation does not exist'))).toBe(false);
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
  });
});
