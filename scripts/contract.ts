// The generated contract as file name → text: the JSON Schemas and the OpenAPI document.
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/open.js';
import { buildApp } from '../src/http/app.js';
import { publishedSchemas } from '../src/schemas/published.js';

const text = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

export async function generatedContract(): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const [name, schema] of Object.entries(publishedSchemas())) files[name] = text(schema);
  const db = await openDatabase({ dataDir: ':memory:' });
  const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent' }), { db, pool: null, logger: false });
  await app.ready();
  files['openapi.json'] = text(app.swagger());
  await app.close();
  await db.close();
  return files;
}
