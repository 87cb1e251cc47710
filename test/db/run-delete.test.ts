// Issue 12, items 3 and 4: a run's long log is deleted a slice at a time on both dialects (RunManager.delete
// calls deleteEvents until it returns 0, with an event-loop turn between: test/security/event-loop.test.ts),
// and the space goes back: SQLite files give the freed pages back to the file system (auto_vacuum =
// INCREMENTAL, reclaim), PostgreSQL leaves it to autovacuum (reclaim is 0 there).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initParams } from '../../src/core/init.js';
import type { ElmanConfig } from '../../src/core/model.js';
import { ModelsRepo } from '../../src/db/models.repo.js';
import { DB_FILE, type Db, openDatabase } from '../../src/db/open.js';
import { RunsRepo } from '../../src/db/runs.repo.js';
import type { RunSpec } from '../../src/training/spec.js';
import { dialects } from '../helpers/dialects.js';

const config: ElmanConfig = { inputSize: 1, hiddenSize: 4, outputSize: 2, activation: 'tanh', readout: 'last' };
const spec = {
  config,
  source: { kind: 'task', name: 'parity', params: { length: 4 } },
  steps: 10,
} as unknown as RunSpec;
const frame = JSON.stringify({ event: 'step', step: 0, loss: Math.LN2, dhNorm: Array(32).fill(0.125) });

async function longLog(repo: RunsRepo, id: string, n: number): Promise<void> {
  await repo.insert({
    id,
    name: null,
    task: 'parity',
    spec,
    params: initParams(config, 1),
    dataX: null,
    dataTargets: null,
  });
  await repo.record(
    id,
    Array.from({ length: n }, (_, i) => ({ seq: i + 1, step: i, kind: 'step', frame })),
  );
}

for (const d of await dialects('rundelete')) {
  describe.skipIf(d.skip !== null)(`a long run log on ${d.name}${d.skip ? ` (${d.skip})` : ''}`, () => {
    let db: Db;
    beforeAll(async () => {
      db = await d.open();
    });
    afterAll(async () => {
      await db?.close();
      await d.cleanup();
    });

    it('is deleted oldest first, at most a slice per statement', async () => {
      const repo = new RunsRepo(db);
      await longLog(repo, 'long', 2500);
      expect(await repo.deleteEvents('long', 1000)).toBe(1000);
      expect((await repo.events('long', 0, -1, 1))[0].seq).toBe(1001);
      expect(await repo.deleteEvents('long', 1000)).toBe(1000);
      expect(await repo.deleteEvents('long', 1000)).toBe(500);
      expect(await repo.deleteEvents('long', 1000)).toBe(0);
      expect(await repo.delete('long')).toBe(true);
      // PostgreSQL: autovacuum's job, nothing to do here
      if (d.name === 'postgres') expect(await repo.reclaim(1000)).toBe(0);
    });
  });
}

describe('a SQLite file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unroll-reclaim-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gets smaller again once a long log is deleted and reclaimed, and once a large model is deleted', async () => {
    const db = await openDatabase({ dataDir: dir });
    const file = join(dir, DB_FILE);
    // the file's own size, once what is in the WAL is in it
    const size = async () => {
      await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db.kysely);
      return statSync(file).size;
    };
    const runs = new RunsRepo(db);
    const models = new ModelsRepo(db);
    const empty = await size();
    await longLog(runs, 'long', 20_000);
    const withLog = await size();
    expect(withLog - empty).toBeGreaterThan(5_000_000);
    // as RunManager.delete does it
    while ((await runs.deleteEvents('long', 2000)) > 0);
    await runs.delete('long');
    while ((await runs.reclaim(1000)) > 0);
    expect((await size()) - empty).toBeLessThan((withLog - empty) / 10);

    const big: ElmanConfig = { ...config, hiddenSize: 600 };
    const m = await models.create({ config: big, params: initParams(big, 1), source: 'x' });
    const withModel = await size();
    expect(withModel - empty).toBeGreaterThan(2_500_000);
    // the model's delete gives its pages back by itself
    await models.delete(m.id);
    expect((await size()) - empty).toBeLessThan((withModel - empty) / 10);
    await db.close();
  });
});
