import { startConformanceColumns, runServerSuite } from '../test/helpers/conformance-servers.js';
const { columns, close } = await startConformanceColumns();
const only = process.argv[2] ?? 'HTTP backend';
const set = (process.argv[3] ?? '2025-11-25') as '2025-11-25';
const run = await runServerSuite(columns.find((c) => c.name === only)!.url, set);
for (const [n, s] of run.scenarios)
  console.log(s.ok ? 'OK  ' : 'FAIL', n, s.ok ? '' : JSON.stringify(s.failures).slice(0, 300));
await close();
