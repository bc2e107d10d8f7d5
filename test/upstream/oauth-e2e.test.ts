// `upstream: {kind: oauth}` end to end (DESIGN §10), with real parts: the SDK client authorized
// at the proxy's AS gets the URL elicitation (-32042) on initialize; the user's browser (headless
// here; Chromium in oauth-e2e-browser) connects at the backend's own AS (oidc-provider, DCR,
// PKCE, resource-bound JWTs); then the backend's whoami says the user. Another user cannot use
// the link; each user's token reaches only their requests; DELETE /api/connections/:b, log out
// everywhere and back-channel logout each forget the connection.
import t from 'tap';
import { UrlElicitationRequiredError } from '@modelcontextprotocol/sdk/types.js';
import { CookieJar, headlessLogin } from '../helpers/login.js';
import {
  authorizeSdk,
  connectHeadless,
  connectionsOf,
  disconnect,
  elicitationOf,
  GH,
  ghConnected,
  ghWhoami,
  sdkConnect,
  startOAuthStack,
} from '../helpers/oauth-upstream.js';
import { within } from '../helpers/stdio-stack.js';
import { INITIALIZE, loginThroughProxy, logoutThroughProxy, MCP_ACCEPT, readRpc } from '../helpers/session-client.js';

const stack = await startOAuthStack();
t.teardown(() => stack.close());
const { proxy, gh, ghUrl } = stack;
const cookieOf = (jar: CookieJar) => jar.header(`${proxy.url}/`) ?? '';

t.test('initialize without a connection: -32042 with a URL elicitation; REST 403; nothing connected', async (t) => {
  const alice = await authorizeSdk(ghUrl, 'alice');
  const e = await elicitationOf(t, sdkConnect(ghUrl, alice.provider));
  t.match(e.url, new RegExp(`^${proxy.url}/connect/${GH}\\?`), 'the URL is the proxy connect page of gh');
  t.ok(e.elicitationId, 'an elicitation id');
  t.match(e.message, e.url, 'the message carries the URL too');

  // On the wire: HTTP 200, a JSON-RPC error (initialize included).
  const token = alice.provider.tokens()!.access_token;
  const raw = await fetch(ghUrl, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: MCP_ACCEPT },
    body: INITIALIZE,
  });
  t.equal(raw.status, 200, 'HTTP 200 like any JSON-RPC response');
  const body = await readRpc(raw);
  t.equal(body.error?.code, -32042);
  t.equal(body.error?.data?.elicitations?.[0]?.mode, 'url');
  t.equal(gh.mcp.calls.length, 0, 'the backend was never called');

  const cookie = cookieOf(alice.jar);
  const rest = await fetch(`${proxy.url}/api/backends/${GH}/tools`, { headers: { cookie } });
  t.equal(rest.status, 403, 'REST: 403');
  const err = ((await rest.json()) as { error: { code: string; connectUrl: string } }).error;
  t.equal(err.code, 'UPSTREAM_CONNECTION_REQUIRED');
  t.match(err.connectUrl, `${proxy.url}/connect/${GH}`);
  t.same(await connectionsOf(proxy.url, cookie), [
    { backend: GH, kind: 'oauth', connected: false, scopes: [], expiresAt: null },
  ]);

  // The home page offers to connect.
  const home = await (await fetch(`${proxy.url}/`, { headers: { cookie } })).text();
  t.match(home, `id="connection-${GH}" data-state="disconnected"`);
  t.match(home, `id="connect-${GH}" href="/connect/${GH}?returnTo=%2F"`, 'a Connect link back to /');
  const explorer = await (await fetch(`${proxy.url}/explore/${GH}`, { headers: { cookie } })).text();
  t.match(explorer, `href="/connect/${GH}?returnTo=%2Fexplore%2F${GH}"`, 'the explorer too, back to itself');
  t.equal(gh.as.counters.authorizations.length, 0, 'nobody went to the backend AS yet');
});

t.test("bob opening alice's connect link: 403 at the proxy, nobody connected", async (t) => {
  const alice = await authorizeSdk(ghUrl, 'alice');
  const e = await elicitationOf(t, sdkConnect(ghUrl, alice.provider));
  const bob = await loginThroughProxy(proxy.url, 'bob');
  const res = await fetch(e.url, { headers: { cookie: bob.cookie }, redirect: 'manual' });
  t.equal(res.status, 403, '403 before the browser leaves the proxy');
  t.equal(res.headers.get('location'), null, 'no redirect to the backend AS');
  await res.body?.cancel();
  t.equal(gh.as.counters.authorizations.length, 0, 'the backend AS saw no authorization request');
  t.equal(await ghConnected(proxy.url, bob.cookie), false, 'bob is not connected');
  t.equal(await ghConnected(proxy.url, cookieOf(alice.jar)), false, 'alice is not connected');
});

t.test('alice connects; the SDK client initializes and the backend sees alice; bob his own', async (t) => {
  const alice = await authorizeSdk(ghUrl, 'alice');
  const e = await elicitationOf(t, sdkConnect(ghUrl, alice.provider));
  const regs = gh.as.counters.registrations.length;
  const done = await connectHeadless(e.url, 'alice', alice.jar);
  t.equal(done.finalUrl, `${proxy.url}/`, `back at the proxy (${done.hops.length} hops)`);
  t.ok(
    done.hops.some((h) => h.startsWith(`POST ${gh.as.issuer}/interaction/`)),
    'logged in and consented at the backend AS',
  );
  t.match(gh.as.counters.authorizations.at(-1), { resource: gh.mcp.url, scope: 'read' }, 'resource + scope');
  t.ok(gh.as.counters.registrations.length <= Math.max(regs, 1), 'at most one registration (DCR) for the proxy');
  const [conn] = await connectionsOf(proxy.url, cookieOf(alice.jar));
  t.match(conn, { backend: GH, kind: 'oauth', connected: true, scopes: ['read'] });
  t.ok(Date.parse(conn!.expiresAt) > Date.now(), 'expiresAt in the future');

  const client = await sdkConnect(ghUrl, alice.provider);
  t.teardown(() => client.close());
  const me = await ghWhoami(client);
  t.equal(me.sub, 'alice', 'whoami: alice, with her own backend token');
  t.equal(me.scope, 'read');

  // Bob connects too; each user's token reaches only that user's requests.
  const bob = await authorizeSdk(ghUrl, 'bob');
  await connectHeadless((await elicitationOf(t, sdkConnect(ghUrl, bob.provider))).url, 'bob', bob.jar);
  const bobClient = await sdkConnect(ghUrl, bob.provider);
  t.teardown(() => bobClient.close());
  const from = gh.mcp.calls.length;
  const him = await ghWhoami(bobClient);
  await bobClient.listTools();
  const bobCalls = gh.mcp.calls.slice(from);
  t.equal(him.sub, 'bob');
  t.not(him.fingerprint, me.fingerprint, 'different tokens');
  t.ok(bobCalls.length >= 2, 'the backend saw bob');
  t.same(
    bobCalls.filter((c) => c.sub !== 'bob' || c.fingerprint === me.fingerprint),
    [],
    "alice's token never reached bob's requests",
  );
  t.equal((await ghWhoami(client)).sub, 'alice', 'alice is still alice');

  const home = await (await fetch(`${proxy.url}/`, { headers: { cookie: cookieOf(alice.jar) } })).text();
  t.match(home, `id="connection-${GH}" data-state="connected">Connected (read)`);
  t.match(home, `id="disconnect-${GH}"`, 'a Disconnect button');

  // DELETE /api/connections/gh: forgotten here, revoked upstream; the next call elicits again.
  const revocations = gh.as.counters.revocations.length;
  const del = await disconnect(proxy.url, cookieOf(alice.jar));
  t.equal(del.status, 200, `DELETE: ${del.status}`);
  t.match(await del.json(), { backend: GH, connected: false, removed: true });
  t.ok(gh.as.counters.revocations.length > revocations, 'revoked at the backend AS');
  t.ok(
    gh.as.counters.revocations.slice(revocations).some((r) => r.kind === 'RefreshToken'),
    'the refresh token is dead',
  );
  t.equal(await ghConnected(proxy.url, cookieOf(alice.jar)), false);
  const again = await ghWhoami(client).catch((e: unknown) => e);
  t.type(again, UrlElicitationRequiredError, 'the next call: -32042 again');
  t.equal((await ghWhoami(bobClient)).sub, 'bob', "bob's connection is untouched");
});

t.test("log out everywhere forgets the connection (made with the home page's Connect link)", async (t) => {
  const alice = await authorizeSdk(ghUrl, 'alice');
  const home = await (await fetch(`${proxy.url}/`, { headers: { cookie: cookieOf(alice.jar) } })).text();
  const link = /id="connect-gh" href="([^"]+)"/.exec(home)?.[1]?.replace(/&amp;/g, '&');
  t.ok(link, 'the home page has a Connect link');
  const done = await connectHeadless(new URL(link!, proxy.url).href, 'alice', alice.jar);
  t.equal(done.finalUrl, `${proxy.url}/`, 'back at the home page');
  const client = await sdkConnect(ghUrl, alice.provider);
  t.equal((await ghWhoami(client)).sub, 'alice', 'connected');
  await client.close();
  const revoked = new Promise<{ accountId?: string }>((r) => gh.as.provider.once('refresh_token.destroyed', r));
  const out = await logoutThroughProxy(proxy.url, cookieOf(alice.jar), { everywhere: true });
  t.equal(out.status, 200, 'logged out everywhere');
  await out.body?.cancel();
  t.ok(
    await within(revoked, 10_000),
    "alice's refresh token is revoked at the backend's AS (after the logout answered)",
  );
  t.equal((await revoked).accountId, 'alice');

  const fresh = await authorizeSdk(ghUrl, 'alice');
  t.equal(await ghConnected(proxy.url, cookieOf(fresh.jar)), false, 'alice is no longer connected');
  await elicitationOf(t, sdkConnect(ghUrl, fresh.provider));
});

t.test('back-channel logout from the IdP forgets the connection', async (t) => {
  const alice = await authorizeSdk(ghUrl, 'alice');
  await connectHeadless((await elicitationOf(t, sdkConnect(ghUrl, alice.provider))).url, 'alice', alice.jar);
  t.equal(await ghConnected(proxy.url, cookieOf(alice.jar)), true, 'connected');
  const events: string[] = [];
  stack.idp.provider.on('backchannel.success', () => events.push('success'));
  stack.idp.provider.on('backchannel.error', (_ctx: unknown, err: Error) => events.push(`error: ${err.message}`));
  // She signs out at the IdP, which calls the proxy's back-channel logout URI before it answers.
  const bye = await headlessLogin({
    startUrl: `${stack.idp.issuer}/session/end`,
    username: 'alice',
    password: 'alice',
    jar: alice.jar,
  });
  t.ok(
    bye.hops.some((h) => h.includes('/session/end/confirm')),
    'signed out at the IdP',
  );
  t.same(events, ['success'], 'the IdP called the back-channel logout URI');

  const fresh = await authorizeSdk(ghUrl, 'alice', new CookieJar());
  t.equal(await ghConnected(proxy.url, cookieOf(fresh.jar)), false, 'alice is no longer connected');
  await elicitationOf(t, sdkConnect(ghUrl, fresh.provider));
});
