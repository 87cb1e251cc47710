// schemas/ is generated from src/schemas: this fails when they drift (fix: npm run schemas, and commit).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatedContract } from '../scripts/contract.js';
import { publishedSchemas, RESPONSE_IDS } from '../src/schemas/published.js';

const dir = join(import.meta.dirname, '..', 'schemas');

describe('the published contract in schemas/', () => {
  it('matches what src/schemas generates, file for file', async () => {
    const files = await generatedContract();
    const onDisk = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    expect(onDisk, 'the set of files (run npm run schemas)').toEqual(Object.keys(files).sort());
    for (const [name, text] of Object.entries(files)) {
      expect(
        readFileSync(join(dir, name), 'utf8') === text,
        `${name} drifted from src/schemas: run npm run schemas`,
      ).toBe(true);
    }
  });

  it('classifies only schemas that exist (a response id with a typo would be published as a request)', () => {
    const ids = new Set(Object.keys(publishedSchemas()).map((f) => f.replace(/\.json$/, '')));
    for (const id of RESPONSE_IDS) expect(ids.has(id), id).toBe(true);
  });

  it('documents tensors as nested arrays and the API’s routes', async () => {
    const files = await generatedContract();
    const forward = JSON.parse(files['ForwardBody.json']);
    expect(forward.properties.x.items.items.items).toEqual({ type: 'number' });
    expect(forward.required).toEqual(['model', 'x']);
    const openapi = JSON.parse(files['openapi.json']);
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(['/v1/forward', '/v1/bptt', '/v1/jacobian', '/v1/gradcheck', '/v1/models']),
    );
  });
});
