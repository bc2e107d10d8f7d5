// The MCP conformance suite's authorization-server scenarios (authorization-server-metadata-endpoint,
// authorization-code-grant) against the proxy's own authorization server, with its real upstream IdP.
import t, { type Test } from 'tap';
import { runAuthorizationSuite, type ConformanceRun } from '../helpers/conformance.js';
import { register } from '../helpers/oauth-manual.js';
import { freePort } from '../helpers/ports.js';
import { startStack } from '../helpers/stack.js';

const stack = await startStack({ consent: true });
t.teardown(() => stack.close());
const { proxy } = stack;

/** Every scenario ran, none failed, and the named checks succeeded. */
function assertPassed(t: Test, run: ConformanceRun, expected: Record<string, string[]>) {
  t.equal(run.exitCode, 0, 'the suite exits 0');
  t.same([...run.scenarios.keys()].sort(), Object.keys(expected).sort(), 'every AS scenario ran');
  for (const [scenario, ids] of Object.entries(expected)) {
    const checks = run.scenarios.get(scenario) ?? [];
    const failed = checks.filter((c) => c.status === 'FAILURE').map((c) => `${c.id}: ${c.errorMessage}`);
    t.same(failed, [], `${scenario}: no check failed`);
    for (const id of ids) t.equal(checks.find((c) => c.id === id)?.status, 'SUCCESS', `${scenario}: ${id} succeeded`);
  }
  t.same(run.total, { passed: Object.values(expected).flat().length, failed: 0 }, 'the summary counts them');
}

const EXPECTED = {
  'authorization-server-metadata-endpoint': ['authorization-server-metadata', 'authorization-server-metadata-cimd'],
  'authorization-code-grant': ['authorization-code-grant'],
};

t.test('a public PKCE client registered by DCR, with resource = /mcp/demo', async (t) => {
  const callbackPort = await freePort();
  const redirect = `http://127.0.0.1:${callbackPort}/callback`;
  const { client } = await register(proxy.url, redirect);
  const run = await runAuthorizationSuite({
    issuer: proxy.url,
    clientId: client.client_id,
    resource: `${proxy.url}/mcp/demo`,
    callbackPort,
  });
  t.comment(
    run.stdout
      .split('\n')
      .filter((l) => /^[✓✗] |^Total:/.test(l))
      .join('\n'),
  );
  assertPassed(t, run, EXPECTED);
  // The browser went through the IdP and the consent page before landing on the suite's callback.
  const hops = run.login?.hops ?? [];
  t.ok(
    hops.some((h) => h.startsWith(`GET ${stack.idp.issuer}`)),
    'logged in at the upstream IdP',
  );
  const consent = new RegExp(`^POST ${proxy.url}/interaction/[^/]+/confirm$`);
  t.ok(
    hops.some((h) => consent.test(h)),
    "approved on the proxy's consent page",
  );
  const back = new URL(run.login!.finalUrl);
  t.equal(`${back.origin}${back.pathname}`, redirect, 'the authorization response reached the callback');
  t.equal(back.searchParams.get('iss'), proxy.url, 'with iss (RFC 9207) = the issuer');
  // The suite asks for no scope: the resource's default scope `mcp` is granted (DESIGN §9), not access_denied.
  const token = run.scenarios.get('authorization-code-grant')?.[0]?.details?.body as
    | Record<string, unknown>
    | undefined;
  t.match(token, { token_type: 'Bearer', scope: 'mcp', expires_in: Number }, 'a Bearer token for scope mcp');
});

t.test('without resource: the one backend is the default, /mcp', async (t) => {
  const callbackPort = await freePort();
  const { client } = await register(proxy.url, `http://127.0.0.1:${callbackPort}/callback`);
  const run = await runAuthorizationSuite({ issuer: proxy.url, clientId: client.client_id, callbackPort });
  t.comment(
    run.stdout
      .split('\n')
      .filter((l) => /^[✓✗] |^Total:/.test(l))
      .join('\n'),
  );
  assertPassed(t, run, EXPECTED);
  t.notOk(run.login?.hops[0]?.includes('resource='), 'the authorization request named no resource');
});
