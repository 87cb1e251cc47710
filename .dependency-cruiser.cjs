// dependency-cruiser: the layering of docs/architecture.md, checked by `npm test` and `npm run depcruise`.
//   core ← schemas ← compute ← training / grading ← http / ws ← app ← server; db beside them (core and
//   schema types only); workers implement the pools that compute and training declare.
// No cycles, neither between files nor between folders.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-file-cycles',
      severity: 'error',
      comment: 'A file never reaches itself through its imports.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      severity: 'error',
      comment: 'Grouped by folder, the imports form no cycle either.',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment: 'src/core is the numerics: it imports nothing outside src/core (no node:*, no packages).',
      from: { path: '^src/core/' },
      to: { pathNot: '^src/core/' },
    },
    {
      name: 'schemas-import-no-higher-layer',
      severity: 'error',
      comment: 'src/schemas declares the shapes: it may take constants from core and src/errors.ts, nothing above.',
      from: { path: '^src/schemas/' },
      to: { path: '^src/', pathNot: ['^src/(core|schemas)/', '^src/errors\\.ts$'] },
    },
    {
      name: 'db-takes-core-and-schema-types',
      severity: 'error',
      comment: 'src/db stores rows: it may import core and the types of schemas, no domain logic.',
      from: { path: '^src/db/' },
      to: { path: '^src/', pathNot: ['^src/(core|db)/', '^src/errors\\.ts$', '^src/schemas/'] },
    },
    {
      name: 'db-takes-only-schema-types',
      severity: 'error',
      comment: 'From src/schemas, src/db imports types only (no zod at run time in the store).',
      from: { path: '^src/db/' },
      to: { path: '^src/schemas/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'only-the-composition-root-reaches-workers',
      severity: 'error',
      comment:
        'The pools are declared in compute and training and implemented in workers; only app wiring imports them.',
      from: { pathNot: ['^src/workers/', '^src/server\\.ts$', '^src/services\\.ts$'] },
      to: { path: '^src/workers/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
