// The conformance suite's 2026-07-28 `server-stateless` and `caching` scenarios through the
// proxy's version bridge, in front of a 2025 SDK server over stdio (every isolation mode).
import t from 'tap';
import { authFront } from '../helpers/auth-front.js';
import { runServerScenario, type ConformanceCheck } from '../helpers/conformance.js';
import { loginThroughProxy } from '../helpers/session-client.js';
import { ROOT } from '../helpers/spawn.js';
import { startStack } from '../helpers/stack.js';

const SERVER = `${ROOT}test/helpers/conformance-stdio-server.mjs`;
const ISOLATIONS = ['session', 'user', 'shared'] as const;
const stack = await startStack({
  consent: false,
  backends: () =>
    ISOLATIONS.map((isolation) => ({
      name: `conf-${isolation}`,
      stdio: { command: process.execPath, args: [SERVER], isolation },
    })),
});
t.teardown(() => stack.close());
const cookie = (await loginThroughProxy(stack.proxy.url, 'alice')).cookie;
const front = await authFront(stack.proxy.url, { cookie });
t.teardown(() => front.close());

const failed = (checks: ConformanceCheck[]) =>
  checks.filter((c) => c.status === 'FAILURE').map((c) => `${c.id}: ${c.errorMessage ?? ''}`);

for (const isolation of ISOLATIONS) {
  t.test(`server-stateless through a stdio backend (isolation: ${isolation})`, async (t) => {
    const checks = await runServerScenario(`${front.url}/mcp/conf-${isolation}`, 'server-stateless');
    t.comment(`server-stateless: ${checks.filter((c) => c.status === 'SUCCESS').length}/${checks.length} passed`);
    t.ok(checks.length >= 28, 'every check ran');
    t.same(failed(checks), [], 'no check fails');
    t.same(
      checks.filter((c) => c.status === 'WARNING').map((c) => c.id),
      [],
      'no warnings (list changes reach listen streams)',
    );
  });
}

t.test('caching through a stdio backend', async (t) => {
  const checks = await runServerScenario(`${front.url}/mcp/conf-user`, 'caching');
  t.comment(`caching: ${checks.filter((c) => c.status === 'SUCCESS').length}/${checks.length} passed`);
  t.ok(checks.length >= 7, 'every check ran');
  t.same(failed(checks), [], 'no check fails');
});

t.test('http-header-validation through a stdio backend', async (t) => {
  const checks = await runServerScenario(`${front.url}/mcp/conf-shared`, 'http-header-validation');
  t.comment(`http-header-validation: ${checks.filter((c) => c.status === 'SUCCESS').length}/${checks.length} passed`);
  t.ok(checks.length > 0, 'the scenario ran');
  t.same(failed(checks), [], 'no check fails');
});
