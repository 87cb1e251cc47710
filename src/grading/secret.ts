// The server secret that keys student tokens: generated once, kept in a 0600 file beside the SQLite file
// (so in UNROLL_DATA_DIR), and read back on every start so tokens stay valid across restarts.
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Db } from '../db/open.js';

export const SECRET_FILE = 'grading-secret';
const SECRET_BYTES = 32;

/** The secret for this database: in memory for an in-memory database (tests), else from its directory. */
export function loadServerSecret(db: Db): Buffer {
  if (db.memory) return randomBytes(SECRET_BYTES);
  const file = join(dirname(db.name), SECRET_FILE);
  // written whole to a private file, then linked into place: link fails if the secret exists, so replicas
  // starting together on one directory all read the first one's secret, and nobody reads a half-written file
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, randomBytes(SECRET_BYTES).toString('hex'), { flag: 'wx', mode: 0o600 });
  try {
    linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    unlinkSync(tmp);
  }
  const secret = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  if (secret.length < SECRET_BYTES) throw new Error(`${file} does not hold a ${SECRET_BYTES}-byte hex secret`);
  return secret;
}
