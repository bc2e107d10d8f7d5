/**
 * Prints the conformance table of the README's "MCP protocol revisions" section from a real run: the MCP
 * conformance suite's server scenarios (both requirement sets) against its reference server, direct and
 * through the proxy (HTTP backend, HTTP backend through the version bridge each way, stdio backend in each
 * isolation mode, virtual server), one line per column.
 *
 *   npm run conformance-table
 */
import { conformanceTable, runConformanceTable, startConformanceColumns } from '../test/helpers/conformance-servers.js';

const { columns, close } = await startConformanceColumns();
try {
  const runs = await runConformanceTable(columns);
  process.stdout.write(
    `${conformanceTable(
      columns.map((c) => c.name),
      runs,
    )}\n`,
  );
} finally {
  await close();
}
