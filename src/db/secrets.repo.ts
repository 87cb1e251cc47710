// Server-wide secrets by name. The first process to ask stores its offer; every later one (on any replica)
// reads that one back, so two processes starting together agree.
import type { Kysely } from 'kysely';
import type { Db } from './open.js';
import type { Schema } from './schema.js';

export class SecretsRepo {
  private readonly db: Kysely<Schema>;

  constructor(db: Db) {
    this.db = db.kysely;
  }

  /** The stored secret `name`, storing `offer()` first if there is none. */
  async getOrCreate(name: string, offer: () => Buffer): Promise<Buffer> {
    const stored = await this.get(name);
    if (stored) return stored;
    await this.db
      .insertInto('secrets')
      .values({ name, value: offer() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    return (await this.get(name))!;
  }

  private async get(name: string): Promise<Buffer | undefined> {
    const r = await this.db.selectFrom('secrets').select('value').where('name', '=', name).executeTakeFirst();
    return r?.value;
  }
}
