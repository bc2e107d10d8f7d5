// The layering of src/, checked by `npm test` (scripts/test.sh → `npm run lint:deps`).
// docs/ARCHITECTURE.md ("Layers") explains it; a rule broken here is a design question, not a
// formatting one: move the code, do not add an exception.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules that import each other cannot be understood or tested one at a time.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'config-is-a-leaf',
      severity: 'error',
      comment: 'config/ reads and validates files and environment; it knows nothing of what the config builds.',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: ['^src/config/', '^src/lib/', '^src/errors\\.ts$'] },
    },
    {
      name: 'foundation-imports-nothing-above',
      severity: 'error',
      comment: 'lib/, store/ and errors.ts are the ground floor: everything may use them, they use nothing of the house.',
      from: { path: ['^src/lib/', '^src/store/', '^src/errors\\.ts$'] },
      to: { path: '^src/', pathNot: ['^src/lib/', '^src/store/', '^src/config/', '^src/errors\\.ts$'] },
    },
    {
      name: 'policy-is-pure',
      severity: 'error',
      comment: 'The policy engine decides from a principal, a backend config and a call: no I/O, no Fastify, no backends.',
      from: { path: '^src/policy/' },
      to: { path: '^src/', pathNot: ['^src/policy/', '^src/config/', '^src/identity/principal\\.ts$', '^src/lib/'] },
    },
    {
      name: 'stages-do-not-import-each-other',
      severity: 'error',
      comment: 'Each /mcp stage stands alone; the order lives in src/mcp/pipeline.ts, shared types in src/mcp/request.ts.',
      from: { path: '^src/mcp/stages/([^/]+)\\.ts$' },
      to: { path: '^src/mcp/stages/', pathNot: '^src/mcp/stages/$1\\.ts$' },
    },
    {
      name: 'only-the-root-builds-the-app',
      severity: 'error',
      comment: 'The composition root (src/app.ts, src/app/) is imported by the CLI alone.',
      from: { path: '^src/', pathNot: ['^src/cli\\.ts$', '^src/app\\.ts$', '^src/app/'] },
      to: { path: ['^src/app\\.ts$', '^src/app/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['node_modules', '^src/web/assets/'] },
    includeOnly: '^src/',
    parser: 'swc',
  },
};
