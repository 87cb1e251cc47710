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
      name: 'compute-is-below-the-domains',
      severity: 'error',
      comment: 'src/compute is the request service layer: training, grading, http and ws build on it, not it on them.',
      from: { path: '^src/compute/' },
      to: { path: '^src/(training|grading|http|ws|workers)/|^src/(services|server)\\.ts$' },
    },
    {
      name: 'domains-are-below-the-transports',
      severity: 'error',
      comment: 'training and grading know nothing of HTTP, WebSockets, the composition root or each other.',
      from: { path: '^src/(training|grading)/' },
      to: { path: '^src/(http|ws)/|^src/(services|server)\\.ts$' },
    },
    {
      name: 'training-and-grading-are-apart',
      severity: 'error',
      from: { path: '^src/training/' },
      to: { path: '^src/grading/' },
    },
    {
      name: 'grading-and-training-are-apart',
      severity: 'error',
      from: { path: '^src/grading/' },
      to: { path: '^src/training/' },
    },
    {
      name: 'transports-are-below-the-root',
      severity: 'error',
      comment: 'Only http/app.ts builds the services; nothing under http or ws imports server.ts.',
      from: { path: '^src/(http|ws)/' },
      to: { path: '^src/server\\.ts$' },
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
      name: 'routes-never-touch-the-store',
      severity: 'error',
      comment: 'http and ws get services from createServices; from src/db they may name a row type, nothing more.',
      from: { path: '^src/(http|ws)/' },
      to: { path: '^src/db/', dependencyTypesNot: ['type-only'] },
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
