// `npm run schemas`: writes schemas/*.json (JSON Schema per published zod schema) and schemas/openapi.json
// (the document /openapi.json serves). test/schemas.test.ts fails when these files drift from src/schemas.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedContract } from './contract.js';

const dir = join(import.meta.dirname, '..', 'schemas');
mkdirSync(dir, { recursive: true });
const files = await generatedContract();
for (const f of readdirSync(dir)) if (f.endsWith('.json') && !(f in files)) rmSync(join(dir, f));
for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
console.log(`wrote ${Object.keys(files).length} files to schemas/`);
