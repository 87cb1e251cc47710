// docs/configuration.md is generated from ConfigSchema: this fails when it drifts (fix: npm run docs:config).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOC, configDoc, undocumented } from '../scripts/config-docs.js';

describe('the configuration table in docs/', () => {
  it('documents every setting of ConfigSchema (a doc comment above each key in src/config.ts)', () => {
    expect(undocumented()).toEqual([]);
  });

  it('matches what ConfigSchema generates (run npm run docs:config)', () => {
    expect(readFileSync(CONFIG_DOC, 'utf8') === configDoc(), 'docs/configuration.md drifted: npm run docs:config').toBe(
      true,
    );
  });
});
