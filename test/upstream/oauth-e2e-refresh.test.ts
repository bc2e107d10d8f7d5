// `upstream: {kind: oauth}` over time: the backend AS issues 2-second access tokens, so the
// token alice connected with expires mid-session and the proxy refreshes it (rotated refresh
// tokens, counted at the AS) without the backend ever seeing an expired token. With the
// backend's AS down, a call is a clear JSON-RPC error naming the backend (the reason logged,
// never a token) while the demo backend keeps working; once the AS is back, so is the call.
import t from 'tap';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import {
  authorizeSdk,
  connectHeadless,
  connectionsOf,
  elicitationOf,
  GH,
  ghWhoami,
  sdkConnect,
  startOAuthStack,
} from '../helpers/oauth-upstream.js';
import { mcpSession, readRpc } from '../helpers/session-client.js';

const TTL_S = 2;

t.test('the upstream token expiring mid-session is refreshed; the AS down is a clear error', async (t) => {
  const stack = await startOAuthStack({ backendAs: { accessTokenTtl: TTL_S } });
  t.teardown(() => stack.close());
  const { proxy, gh, ghUrl, demoUrl } = stack;

  const alice = await authorizeSdk(ghUrl, 'alice');
  await connectHeadless((await elicitationOf(t, sdkConnect(ghUrl, alice.provider))).url, 'alice', alice.jar);
  const cookie = alice.jar.header(`${proxy.url}/`)!;
  const connectedUntil = Date.parse((await connectionsOf(proxy.url, cookie))[0]!.expiresAt);
  t.ok(connectedUntil - Date.now() <= TTL_S * 1000, `the connection's access token lives ${TTL_S} s`);
  t.equal(gh.as.counters.refreshes, 0, 'no refresh yet');

  const client = await sdkConnect(ghUrl, alice.provider);
  t.teardown(() => client.close());
  const before = await ghWhoami(client);
  t.equal(before.sub, 'alice');

  // Token expiry is a point in time, not an event: wait until the connect-time token is dead.
  await new Promise((r) => setTimeout(r, Math.max(0, connectedUntil - Date.now()) + 100));
  const after = await ghWhoami(client);
  t.equal(after.sub, 'alice', 'the same MCP session still works after the first token expired');
  t.not(after.fingerprint, before.fingerprint, 'with a new token');
  t.ok(gh.as.counters.refreshes >= 1, `refreshed at the backend AS (${gh.as.counters.refreshes} refreshes)`);
  t.same(gh.mcp.refused, [], 'the backend never saw an expired or invalid token');
  t.ok(
    Date.parse((await connectionsOf(proxy.url, cookie))[0]!.expiresAt) > connectedUntil,
    '/api/connections shows the new expiry',
  );

  // The backend's AS goes down: the next refresh fails.
  await gh.as.stop();
  const failed = await ghWhoami(client).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(failed, McpError, 'a JSON-RPC error');
  const err = failed as McpError;
  t.match(err.message, `backend "${GH}"`, `it names the backend (${err.message})`);
  t.match(err.data, { code: 'UPSTREAM_TOKEN_FAILED', backend: GH });
  const logged = proxy.logs().filter((l) => l.event === 'upstream.token_failed');
  t.match(logged.at(-1), { backend: GH, kind: 'oauth' }, 'the failure is logged with the backend');
  t.notMatch(JSON.stringify(proxy.logs()), /eyJ[\w-]+\.eyJ/, 'no JWT in any log line');
  t.equal(
    (await connectionsOf(proxy.url, cookie))[0]!.connected,
    true,
    'the connection is kept (not the user’s fault)',
  );

  // Other backends keep working meanwhile (cookie session on /mcp/demo).
  const demo = await mcpSession(demoUrl, { cookie });
  const who = await readRpc(await demo.call('tools/call', { name: 'whoami', arguments: {} }));
  t.equal(who.result?.structuredContent?.user, 'alice', 'the demo backend answers');

  await gh.as.start();
  t.equal((await ghWhoami(client)).sub, 'alice', 'the AS is back: so is the call');
});
