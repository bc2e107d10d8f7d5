// The conformance suite's 2026-07-28 `server-stateless` scenario through the proxy's version
// bridge in front of the suite's reference server over streamable HTTP, held to 2025 (`protocol: 2025`).
import t from 'tap';
import { authFront } from '../helpers/auth-front.js';
import { runServerScenario, type ConformanceCheck } from '../helpers/conformance.js';
import { startReferenceServer } from '../helpers/conformance-servers.js';
import { loginThroughProxy } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';

const reference = await startReferenceServer();
t.teardown(() => reference.close());
const stack = await startStack({
  consent: false,
  backends: () => [{ name: 'conf-http', http: { url: reference.url, transport: 'streamable', protocol: '2025' } }],
});
t.teardown(() => stack.close());
const cookie = (await loginThroughProxy(stack.proxy.url, 'alice')).cookie;
const front = await authFront(stack.proxy.url, { cookie });
t.teardown(() => front.close());

t.test('server-stateless through an HTTP backend (bridged)', async (t) => {
  const checks = await runServerScenario(`${front.url}/mcp/conf-http`, 'server-stateless');
  const failed = (c: ConformanceCheck[]) =>
    c.filter((x) => x.status === 'FAILURE').map((x) => `${x.id}: ${x.errorMessage ?? ''}`);
  t.comment(`server-stateless: ${checks.filter((c) => c.status === 'SUCCESS').length}/${checks.length} passed`);
  t.ok(checks.length >= 28, 'every check ran');
  for (const c of checks.filter((x) => x.status !== 'SUCCESS')) t.comment(`${c.status} ${c.id}`);
  // The reference server (in 2025 mode) neither lists `test_missing_capability` nor asks for
  // sampling from it, so these two cannot pass through any bridge; stdio-bridge/conformance tests
  // cover -32021 with a server that does. Every other check must pass.
  const REFERENCE_LIMITS = ['sep-2575-server-rejects-undeclared-capability', 'sep-2575-missing-capability-http-400'];
  t.same(
    failed(checks).filter((f) => !REFERENCE_LIMITS.some((id) => f.startsWith(`${id}:`))),
    [],
    'no other check fails',
  );
});
