// A backend with `upstream: {kind: oauth}` is a real OAuth-protected MCP server with its own
// authorization server (test/helpers/backend-as.ts: oidc-provider + SDK server checking JWTs).
// The proxy discovers that server from the backend's RFC 9728 metadata, registers once by DCR,
// and connects each user in their (headless) browser; until then MCP calls get the URL
// elicitation error -32042 and the REST API 403 UPSTREAM_CONNECTION_REQUIRED.
import t, { type Test } from 'tap';
import { startOAuthBackend } from '../helpers/backend-as.js';
import { CookieJar, headlessLogin } from '../helpers/login.js';
import { INITIALIZE, loginThroughProxy, MCP_ACCEPT, mcpSession, readRpc } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';

const be = await startOAuthBackend({ consent: true });
const stack = await startStack({
  consent: false,
  backends: () => [{ name: 'gh', http: { url: be.mcp.url }, upstream: { kind: 'oauth', scopes: ['read'] } }],
});
t.teardown(async () => {
  await stack.close();
  await be.close();
});
const { proxy } = stack;

const alice = await loginThroughProxy(proxy.url, 'alice');
const bob = await loginThroughProxy(proxy.url, 'bob');
const csrfOf = async (cookie: string) =>
  ((await (await fetch(`${proxy.url}/oauth/status`, { headers: { cookie } })).json()) as { csrfToken: string })
    .csrfToken;

const post = async (cookie: string, body: string, extra: Record<string, string> = {}) => {
  const res = await fetch(`${proxy.url}/mcp/gh`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', accept: MCP_ACCEPT, ...extra },
    body,
  });
  return { status: res.status, json: await readRpc(res) };
};
const connections = async (cookie: string) =>
  (await (await fetch(`${proxy.url}/api/connections`, { headers: { cookie } })).json()) as {
    connections: Array<{ backend: string; kind: string; connected: boolean; scopes: string[]; expiresAt: string }>;
  };

/** The elicitation of an MCP answer, checked for its shape. */
function elicitationOf(t: Test, r: { status: number; json: any }, id: number) {
  t.equal(r.status, 200, 'HTTP 200 like any JSON-RPC answer');
  t.equal(r.json.id, id);
  t.equal(r.json.error.code, -32042);
  t.equal(r.json.error.data.code, 'UPSTREAM_CONNECTION_REQUIRED');
  const [e, ...more] = r.json.error.data.elicitations;
  t.equal(more.length, 0);
  t.equal(e.mode, 'url');
  t.match(e.url, new RegExp(`^${proxy.url}/connect/gh\\?elicitation=[\\w-]{20,}$`));
  t.equal(new URL(e.url).searchParams.get('elicitation'), e.elicitationId);
  t.ok(e.message.includes(e.url), 'the message carries the URL');
  t.ok(r.json.error.message.includes(e.url));
  return e as { url: string; elicitationId: string };
}

let aliceLink = '';
t.test('initialize without a connection: the URL elicitation error, the backend hears nothing', async (t) => {
  aliceLink = elicitationOf(t, await post(alice.cookie, INITIALIZE), 1).url;
  t.equal(be.mcp.calls.length, 0);
  t.same(be.as.counters.registrations, [], 'nothing registered before someone connects');
  const list = await connections(alice.cookie);
  t.same(list, { connections: [{ backend: 'gh', kind: 'oauth', connected: false, scopes: [], expiresAt: null }] });
});

t.test('REST: 403 with the connect URL', async (t) => {
  const res = await fetch(`${proxy.url}/api/backends/gh/tools`, { headers: { cookie: alice.cookie } });
  t.equal(res.status, 403);
  const body = (await res.json()) as { error: { code: string; message: string; connectUrl: string } };
  t.equal(body.error.code, 'UPSTREAM_CONNECTION_REQUIRED');
  t.match(body.error.connectUrl, new RegExp(`^${proxy.url}/connect/gh\\?elicitation=`));
  t.ok(body.error.message.includes(body.error.connectUrl));
});

t.test("another user opening alice's link: 403 before leaving the proxy, nobody connected", async (t) => {
  const res = await fetch(aliceLink, { headers: { cookie: bob.cookie, accept: 'text/html' }, redirect: 'manual' });
  t.equal(res.status, 403);
  t.match(await res.text(), /another user/);
  t.same(be.as.counters.authorizations, [], 'the authorization server never saw the browser');
  t.equal((await connections(bob.cookie)).connections[0]!.connected, false);
  t.equal((await connections(alice.cookie)).connections[0]!.connected, false);
});

t.test('not logged in: through /oauth/login, and back to the link', async (t) => {
  const res = await fetch(aliceLink, { redirect: 'manual' });
  t.equal(res.status, 302);
  const to = new URL(res.headers.get('location')!, proxy.url);
  t.equal(to.pathname, '/oauth/login');
  t.equal(to.searchParams.get('returnTo'), aliceLink.slice(proxy.url.length));
});

let aliceToken = '';
t.test('alice connects through her link: discovered by RFC 9728, registered by DCR, PKCE and resource', async (t) => {
  const r = await headlessLogin({ startUrl: aliceLink, username: 'alice', password: 'alice', jar: alice.jar });
  t.equal(r.finalUrl, `${proxy.url}/`, 'back where she came from');
  t.equal(be.as.counters.registrations.length, 1);
  const client = await be.as.provider.Client.find(be.as.counters.registrations[0]!);
  t.same(client?.redirectUris, [`${proxy.url}/connect/callback`]);
  t.same(be.as.counters.authorizations, [
    { clientId: be.as.counters.registrations[0], resource: be.mcp.url, scope: 'read' },
  ]);
  t.equal(be.as.counters.codeGrants, 1);
  const [entry] = (await connections(alice.cookie)).connections;
  t.equal(entry!.connected, true);
  t.same(entry!.scopes, ['read']);
  t.ok(Date.parse(entry!.expiresAt) > Date.now());

  const s = await mcpSession(`${proxy.url}/mcp/gh`, { cookie: alice.cookie });
  const call = await readRpc(await s.call('tools/call', { name: 'whoami', arguments: {} }));
  const who = call.result.structuredContent;
  t.equal(who.sub, 'alice', "the backend acts as alice's account there");
  t.equal(who.aud, be.mcp.url);
  t.equal(who.scope, 'read');
  aliceToken = who.fingerprint;
  t.ok(be.mcp.calls.every((c) => c.sub === 'alice' && c.fingerprint === aliceToken));
  const logs = JSON.stringify(proxy.logs());
  t.notOk(/"(access|refresh)_?[tT]oken"\s*:\s*"[^"]/.test(logs), 'no token in the logs');
});

t.test('the callback: a state is used once and only by the user who started it', async (t) => {
  const toCallback = async () => {
    const r = await headlessLogin({
      startUrl: `${proxy.url}/connect/gh?returnTo=/oauth/status`,
      username: 'bob',
      password: 'bob',
      jar: bob.jar,
      stopAt: (u) => u.pathname === '/connect/callback',
    });
    t.match(r.finalUrl, /\/connect\/callback\?.*code=/);
    return r.finalUrl;
  };
  const grants = be.as.counters.codeGrants;
  const first = await toCallback();
  const stolen = await fetch(first, { headers: { cookie: alice.cookie, accept: 'text/html' }, redirect: 'manual' });
  t.equal(stolen.status, 403, "bob's callback in alice's browser");
  t.equal(be.as.counters.codeGrants, grants, 'no code exchanged');
  t.equal((await connections(bob.cookie)).connections[0]!.connected, false);
  const again = await fetch(first, { headers: { cookie: bob.cookie }, redirect: 'manual' });
  t.equal(again.status, 400, 'that state is spent');

  const second = await toCallback();
  const ok = await fetch(second, { headers: { cookie: bob.cookie }, redirect: 'manual' });
  t.equal(ok.status, 302);
  t.equal(ok.headers.get('location'), '/oauth/status');
  const replay = await fetch(second, { headers: { cookie: bob.cookie }, redirect: 'manual' });
  t.equal(replay.status, 400, 'a replayed callback is refused');
  t.equal(be.as.counters.codeGrants, grants + 1);
  t.equal(be.as.counters.registrations.length, 1, 'the registration is reused');
  const who = await readRpc(
    await (await mcpSession(`${proxy.url}/mcp/gh`, { cookie: bob.cookie })).call('tools/call', { name: 'whoami' }),
  );
  t.equal(who.result.structuredContent.sub, 'bob');
  t.not(who.result.structuredContent.fingerprint, aliceToken);
});

t.test('the authorization server refusing: a clear error page, nothing saved', async (t) => {
  const r = await headlessLogin({
    startUrl: `${proxy.url}/connect/gh`,
    username: 'bob',
    password: 'bob',
    jar: bob.jar,
    stopAt: (u) => u.pathname === '/connect/callback',
  });
  const u = new URL(r.finalUrl);
  const refused = new URL(`${proxy.url}/connect/callback`);
  refused.searchParams.set('state', u.searchParams.get('state')!);
  refused.searchParams.set('error', 'access_denied');
  refused.searchParams.set('error_description', 'the user said no');
  const res = await fetch(refused, { headers: { cookie: bob.cookie, accept: 'text/html' } });
  t.equal(res.status, 400);
  t.match(await res.text(), /could not connect backend &quot;gh&quot;.*access_denied: the user said no/);
});

t.test('DELETE /api/connections/gh: CSRF checked, forgotten, revoked upstream, then -32042 again', async (t) => {
  const s = await mcpSession(`${proxy.url}/mcp/gh`, { cookie: alice.cookie });
  const url = `${proxy.url}/api/connections/gh`;
  const noCsrf = await fetch(url, { method: 'DELETE', headers: { cookie: alice.cookie } });
  t.equal(noCsrf.status, 403);
  t.equal(((await noCsrf.json()) as any).error.code, 'CSRF_FAILED');
  const before = be.as.counters.revocations.length;
  const res = await fetch(url, {
    method: 'DELETE',
    headers: { cookie: alice.cookie, 'x-csrf-token': await csrfOf(alice.cookie), origin: proxy.url },
  });
  t.equal(res.status, 200);
  t.same(await res.json(), { backend: 'gh', connected: false, removed: true });
  t.same(
    be.as.counters.revocations.slice(before).map((r) => r.kind),
    ['RefreshToken'],
    'the refresh token (its JWT access token this server cannot revoke: it expires)',
  );
  t.notOk(
    proxy.logs().some((l) => l.event === 'upstream.revocation_failed'),
    'unsupported_token_type is not a failure',
  );
  t.equal((await connections(alice.cookie)).connections[0]!.connected, false);
  t.equal((await connections(bob.cookie)).connections[0]!.connected, true, "bob's stays");
  elicitationOf(t, { status: 200, json: await readRpc(await s.call('tools/call', { name: 'whoami' })) }, 10);
});

t.test('a browser not logged in: the link, the proxy login, back to the link, connected', async (t) => {
  const link = elicitationOf(t, await post(alice.cookie, INITIALIZE), 1).url;
  const jar = new CookieJar();
  const login = await headlessLogin({
    startUrl: link,
    username: 'alice',
    password: 'alice',
    jar,
    stopAt: (u) => u.pathname === '/connect/gh',
  });
  t.equal(login.finalUrl, link, 'back at the link after logging in to the proxy');
  const connect = await headlessLogin({ startUrl: link, username: 'alice', password: 'alice', jar });
  t.equal(connect.finalUrl, `${proxy.url}/`);
  t.equal((await connections(alice.cookie)).connections[0]!.connected, true, 'the same user, another browser');
});

t.test('an unknown backend, an unknown connect link', async (t) => {
  const res = await fetch(`${proxy.url}/connect/nope`, { headers: { cookie: alice.cookie } });
  t.equal(res.status, 404);
  const gone = await fetch(`${proxy.url}/connect/gh?elicitation=unknown`, { headers: { cookie: alice.cookie } });
  t.equal(gone.status, 400);
});

t.test('the Client ID Metadata Document', async (t) => {
  const res = await fetch(`${proxy.url}/oauth/client-metadata.json`);
  t.equal(res.status, 200);
  t.same(await res.json(), {
    client_id: `${proxy.url}/oauth/client-metadata.json`,
    client_name: 'mcp-oidc-proxy',
    client_uri: proxy.url,
    redirect_uris: [`${proxy.url}/connect/callback`],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  });
});

t.test('metrics count connect-required answers', async (t) => {
  const text = await (await fetch(`${proxy.url}/metrics`)).text();
  t.match(text, /mcp_proxy_upstream_tokens_total\{backend="gh",kind="oauth",result="connect_required"\} [1-9]/);
  t.match(text, /mcp_proxy_upstream_tokens_total\{backend="gh",kind="oauth",result="cached"\} [1-9]/);
});
