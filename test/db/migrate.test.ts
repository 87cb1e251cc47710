// One set of migrations: several processes starting together on one fresh PostgreSQL database all come up
// on the same schema (an advisory lock makes them take turns), and a SQLite file from before Kysely is
// used as it is, its grading secret included.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { initParams } from '../../src/core/init.js';
import { MIGRATIONS } from '../../src/db/migrations/index.js';
import { ModelsRepo, packParams } from '../../src/db/models.repo.js';
import { DB_FILE, type Db, openDatabase } from '../../src/db/open.js';
import { RunsRepo } from '../../src/db/runs.repo.js';
import { loadServerSecret, SECRET_FILE } from '../../src/grading/secret.js';
import { freshDatabase, PG_ADMIN_URL, pgReachable } from '../helpers/pg.js';

const config = { inputSize: 2, hiddenSize: 3, outputSize: 2, activation: 'tanh', readout: 'last' } as const;
const applied = async (db: Db) =>
  (await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db.kysely)).rows.map(
    (r) => r.name,
  );

const up = await pgReachable();
if (!up) console.warn(`note: PostgreSQL is not reachable at ${PG_ADMIN_URL}: the concurrent migration test is skipped`);

describe.skipIf(!up)(`migrations on PostgreSQL${up ? '' : ` (skipped: not reachable at ${PG_ADMIN_URL})`}`, () => {
  it('eight stores (a connection pool each) migrating one fresh database at once: each comes up, the schema is made once', async () => {
    const fresh = await freshDatabase('store');
    try {
      // eight stores, each with its own connection pool, as eight processes would have
      const dbs = await Promise.all(
        Array.from({ length: 8 }, () => openDatabase({ url: fresh.url, dataDir: ':memory:' })),
      );
      try {
        expect(await applied(dbs[0])).toEqual(MIGRATIONS.map((m) => m.name));
        // every one of them works on the one schema
        const models = await Promise.all(
          dbs.map((db, i) => new ModelsRepo(db).create({ config, params: initParams(config, i), source: 'test' })),
        );
        expect((await new ModelsRepo(dbs[7]).list(100, 0)).total).toBe(8);
        expect((await new ModelsRepo(dbs[3]).get(models[5].id))!.source).toBe('test');
      } finally {
        await Promise.all(dbs.map((db) => db.close()));
      }
      // a later start finds nothing to do
      const again = await openDatabase({ url: fresh.url, dataDir: ':memory:' });
      expect(await applied(again)).toEqual(MIGRATIONS.map((m) => m.name));
      await again.close();
    } finally {
      await fresh.drop();
    }
  });
});

describe.skipIf(!up)(`008 on PostgreSQL${up ? '' : ' (skipped: not reachable)'}`, () => {
  it('moves the weights of models stored before it into rows of blob_chunks, bit for bit', async () => {
    const fresh = await freshDatabase('store');
    try {
      const pool = new pg.Pool({ connectionString: fresh.url, max: 1 });
      const before = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
      const migrator = new Migrator({
        db: before,
        migrationTableName: 'kysely_migration',
        provider: {
          getMigrations: async () =>
            Object.fromEntries(
              MIGRATIONS.filter((m) => m.name < '008').map((m) => [
                m.name,
                { up: (k: Kysely<unknown>) => m.up(k, 'postgres') },
              ]),
            ),
        },
      });
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      // a model at 13 rows of 128 KiB, stored as one bytea as 001 laid it out
      const big = { ...config, inputSize: 1, hiddenSize: 460, outputSize: 1 };
      const params = initParams(big, 5);
      await sql`INSERT INTO models (id, name, config, weights, source, version, created_at, updated_at)
        VALUES ('m-old', 'old', ${JSON.stringify(big)}, ${packParams(params)}, 'init:5', 1, 'x', 'x')`.execute(before);
      // and a run with its initial weights and a checkpoint of three rows and a bit
      const state = Buffer.from(Float64Array.from({ length: 3 * 16_384 + 5 }, (_, i) => i / 7).buffer);
      await sql`INSERT INTO runs (id, status, spec, init_params, steps, created_at)
        VALUES ('r-old', 'queued', '{}', ${packParams(params)}, 10, 'x')`.execute(before);
      await sql`INSERT INTO run_checkpoints (run_id, step, meta, state, created_at)
        VALUES ('r-old', 5, '{}', ${state}, 'x')`.execute(before);
      await before.destroy();

      const db = await openDatabase({ url: fresh.url, dataDir: ':memory:' });
      try {
        expect(await applied(db)).toEqual(MIGRATIONS.map((m) => m.name));
        const m = (await new ModelsRepo(db).get('old'))!;
        expect(packParams(m.params).equals(packParams(params))).toBe(true);
        const rows = await db.kysely.selectFrom('blob_chunks').select('idx').execute();
        expect(rows).toHaveLength(2 * Math.ceil(packParams(params).length / 8 / 16_384) + 4);
        const runs = new RunsRepo(db);
        const inputs = (await runs.inputs('r-old', big))!;
        expect(packParams(inputs.params).equals(packParams(params))).toBe(true);
        const c = (await runs.checkpoint('r-old'))!;
        expect(c.step).toBe(5);
        expect(Buffer.from(c.bytes).equals(state)).toBe(true);
        expect(c.logBytes).toBeNull();
      } finally {
        await db.close();
      }
    } finally {
      await fresh.drop();
    }
  });
});

/** Starts `n` processes that each open (and so migrate) the database at `url`, all at once; their exit codes. */
async function migrateInProcesses(url: string, n: number): Promise<(number | null)[]> {
  const script = `const { openDatabase } = await import('./src/db/open.ts');
    const db = await openDatabase({ url: process.env.URL, dataDir: ':memory:' });
    await db.close();`;
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
            env: { ...process.env, URL: url },
            stdio: ['ignore', 'ignore', 'inherit'],
          });
          child.once('exit', resolve);
        }),
    ),
  );
}

describe.skipIf(!up)(`migrations by separate processes${up ? '' : ' (skipped: PostgreSQL not reachable)'}`, () => {
  it('four processes started together on one fresh database all come up; the schema is made once', async () => {
    const fresh = await freshDatabase('store');
    try {
      expect(await migrateInProcesses(fresh.url, 4)).toEqual([0, 0, 0, 0]);
      const db = await openDatabase({ url: fresh.url, dataDir: ':memory:' });
      expect(await applied(db)).toEqual(MIGRATIONS.map((m) => m.name));
      await db.close();
    } finally {
      await fresh.drop();
    }
  }, 60_000);
});

describe('migrations on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unroll-migrate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a file made by the hand-written migrations (user_version 3) is adopted: its rows stay, 004 is added', async () => {
    const file = join(dir, DB_FILE);
    const old = new Database(file);
    old.exec(readFileSync(new URL('../fixtures/sqlite-v3/schema.sql', import.meta.url), 'utf8'));
    old.pragma('user_version = 3');
    const params = initParams(config, 5);
    old
      .prepare(
        'INSERT INTO models (id, name, config, weights, source, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)',
      )
      .run('m-old', 'old', JSON.stringify(config), packParams(params), 'init:5', 'x', 'x');
    old.close();
    // and the secret in the file the server kept it in
    const secret = Buffer.alloc(32, 7);
    writeFileSync(join(dir, SECRET_FILE), secret.toString('hex'), { mode: 0o600 });

    const db = await openDatabase({ dataDir: dir });
    try {
      expect(await applied(db)).toEqual(MIGRATIONS.map((m) => m.name));
      const m = (await new ModelsRepo(db).get('old'))!;
      expect(Array.from(m.params.U)).toEqual(Array.from(params.U));
      // 008 moved the weights into rows of blob_chunks, and the column went
      const columns = await sql<{ name: string }>`PRAGMA table_info(models)`.execute(db.kysely);
      expect(columns.rows.map((c) => c.name)).not.toContain('weights');
      const rows = await db.kysely.selectFrom('blob_chunks').select('blob_id').execute();
      expect(rows.map((r) => r.blob_id)).toEqual(['migrated-models-m-old']);
      expect(await loadServerSecret(db)).toEqual(secret);
    } finally {
      await db.close();
    }
    // once adopted, it opens as any other file, and keeps its secret without the old file
    rmSync(join(dir, SECRET_FILE));
    const again = await openDatabase({ dataDir: dir });
    expect(await applied(again)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await loadServerSecret(again)).toEqual(secret);
    await again.close();
  });

  it('refuses a file newer than this build', async () => {
    const d2 = mkdtempSync(join(tmpdir(), 'unroll-migrate-'));
    const f = new Database(join(d2, DB_FILE));
    f.pragma('user_version = 99');
    f.close();
    await expect(openDatabase({ dataDir: d2 })).rejects.toThrow(/newer than this build/);
    rmSync(d2, { recursive: true, force: true });
  });
});
