// The MCP conformance suite's server scenarios (2025-11-25 and 2026-07-28 requirement sets) against its
// reference server, direct and through the proxy (API key added by a loopback front) as an HTTP backend and
// as a stdio backend in each isolation mode, and inside a virtual server: every scenario that passes direct
// passes through (DESIGN §12); in the virtual server, except the scenarios that call a fixed tool or prompt
// name (there names are `<prefix>_<name>`).
import t from 'tap';
import {
  conformanceTable,
  REQUIREMENT_SETS,
  runConformanceTable,
  startConformanceColumns,
} from '../helpers/conformance-servers.js';

// Six columns in parallel on a shared machine; a stdio backend with isolation: session spawns a child per session.
t.setTimeout(360_000);
const { columns, close } = await startConformanceColumns();
t.teardown(close);
const runs = await runConformanceTable(columns);
const [direct, ...through] = columns;
/** Scenarios that call the reference server's tools or prompts by name: not reachable in a virtual server. */
const FIXED_NAMES =
  /^(tools-call-|prompts-get-|elicitation-|input-required-result-)|^(completion-complete|json-schema-2020-12)$/;
/**
 * Checks of server-stateless that call a diagnostic tool by name (`test_streaming_elicitation`, `test_logging_tool`):
 * "not testable" in a virtual server for the same reason; test/backends/virtual-stateless.test.ts checks the same
 * behaviour under prefixed names.
 */
const FIXED_NAME_CHECKS = new Set([
  'sep-2575-http-server-no-independent-requests-on-stream',
  'sep-2575-server-no-log-without-loglevel',
]);
t.comment(
  `\n${conformanceTable(
    columns.map((c) => c.name),
    runs,
  )}`,
);

t.comment([...runs].map(([key, run]) => `${key}: ${Math.round(run.ms / 1000)} s`).join(', '));

/**
 * What a 2025 server cannot show through the version bridge (stdio backends run the reference server's 2025
 * McpServer; a virtual server's member sessions are 2025 sessions): the reference server defines the MRTR
 * tools (`test_input_required_result_*`) and `test_missing_capability` only on its own 2026-07-28 HTTP path,
 * so these have no 2025 counterpart (§12).
 */
const NO_2025_COUNTERPART = {
  scenarios: /^input-required-result-/,
  checks: new Set(['sep-2575-server-rejects-undeclared-capability', 'sep-2575-missing-capability-http-400']),
};

for (const set of REQUIREMENT_SETS) {
  const base = runs.get(`${set} ${direct!.name}`)!;
  const passing = [...base.scenarios].filter(([, s]) => s.ok).map(([name]) => name);

  t.test(`${set}: the reference server direct`, async (t) => {
    t.ok(base.scenarios.size > 0, `the suite ran the ${set} scenarios`);
    // The scenarios the proxy must carry: the reference server passes these itself (sanity of the baseline).
    for (const name of ['tools-list', 'resources-read-text', 'prompts-get-with-args', 'dns-rebinding-protection'])
      t.ok(base.scenarios.get(name)?.ok, `${name} passes direct`);
    if (set === '2025-11-25') t.same(passing.length, base.scenarios.size, 'every 2025-11-25 scenario passes direct');
    else
      for (const name of ['server-stateless', 'caching']) t.ok(base.scenarios.get(name)?.ok, `${name} passes direct`);
  });

  for (const col of through) {
    t.test(`${set}: through the proxy, ${col.name}`, async (t) => {
      const run = runs.get(`${set} ${col.name}`)!;
      t.same([...run.scenarios.keys()].sort(), [...base.scenarios.keys()].sort(), 'the same scenarios ran');
      const virtual = col.name === 'virtual server';
      // A virtual server answers 2026-07-28 clients through the version bridge over its members' 2025 sessions
      // (the member here is the reference server, reached as a 2025 client): the same exclusions as stdio.
      const bridged = set === '2026-07-28' && (col.name.startsWith('stdio') || virtual);
      for (const name of passing) {
        if (virtual && FIXED_NAMES.test(name)) continue;
        if (bridged && NO_2025_COUNTERPART.scenarios.test(name)) continue;
        const s = run.scenarios.get(name);
        const failures = (s?.failures ?? ['did not run']).filter((f) => {
          const check = f.slice(0, f.indexOf(':'));
          return !(bridged && NO_2025_COUNTERPART.checks.has(check)) && !(virtual && FIXED_NAME_CHECKS.has(check));
        });
        t.ok(s?.ok || (s && failures.length === 0), `${name} passes through`, { failures });
      }
    });
  }
}
