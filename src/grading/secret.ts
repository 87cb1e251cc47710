// The server secret that keys student tokens: generated once and kept in the database (table `secrets`), so
// every process on one database derives the same tokens and they stay valid across restarts. A data
// directory from before keeps the secret it had in its 0600 file, so tokens already handed out still work.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../db/open.js';
import { SecretsRepo } from '../db/secrets.repo.js';

/** Where the secret was kept before it moved into the database. */
export const SECRET_FILE = 'grading-secret';
const SECRET_NAME = 'grading';
const SECRET_BYTES = 32;

export async function loadServerSecret(db: Db): Promise<Buffer> {
  const secret = await new SecretsRepo(db).getOrCreate(
    SECRET_NAME,
    () => legacySecret(db) ?? randomBytes(SECRET_BYTES),
  );
  if (secret.length < SECRET_BYTES) throw new Error(`the stored grading secret is not ${SECRET_BYTES} bytes`);
  return secret;
}

function legacySecret(db: Db): Buffer | null {
  const file = db.dataDir && join(db.dataDir, SECRET_FILE);
  if (!file || !existsSync(file)) return null;
  const secret = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  if (secret.length < SECRET_BYTES) throw new Error(`${file} does not hold a ${SECRET_BYTES}-byte hex secret`);
  return secret;
}
