// An oauth connection over time, against the real backend authorization server
// (test/helpers/backend-as.ts): refreshed shortly before it expires (once for concurrent calls,
// the rotated refresh token kept), a refused refresh removes it (connect again), an unreachable
// server is UPSTREAM_TOKEN_FAILED with the connection kept, API keys cannot have one.
import t from 'tap';
import { MemoryStore } from '../../src/store/memory.js';
import { Connections } from '../../src/upstream/connections.js';
import { startOAuthBackend } from '../helpers/backend-as.js';
import { apiKey } from '../helpers/hostile.js';
import { headlessLogin } from '../helpers/login.js';
import { loginThroughProxy, MCP_ACCEPT, mcpSession, readRpc, rpc } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';

const be = await startOAuthBackend({ consent: false });
const store = new MemoryStore();
const key = apiKey('robot', 'robot');
const stack = await startStack({
  consent: false,
  deps: { store },
  backends: () => [{ name: 'gh', http: { url: be.mcp.url }, upstream: { kind: 'oauth', scopes: ['read', 'write'] } }],
  proxy: { apiKeys: [key.config] },
});
t.teardown(async () => {
  await stack.close();
  await be.close();
});
const { proxy } = stack;
const connections = new Connections(store);

const alice = await loginThroughProxy(proxy.url, 'alice');
const connected = await headlessLogin({
  startUrl: `${proxy.url}/connect/gh?returnTo=/oauth/status`,
  username: 'alice',
  password: 'alice',
  jar: alice.jar,
});
if (connected.finalUrl !== `${proxy.url}/oauth/status`) throw new Error(`not connected: ${connected.hops.join('\n')}`);
const session = await mcpSession(`${proxy.url}/mcp/gh`, { cookie: alice.cookie });
const whoami = async () => readRpc(await session.call('tools/call', { name: 'whoami', arguments: {} }));
const stored = async () => (await connections.get('alice', 'gh'))!;
/** The stored connection, made to expire in `ms` (negative: already expired). */
const expireIn = async (ms: number, change: Record<string, unknown> = {}) =>
  connections.save('alice', 'gh', { ...(await stored()), expiresAt: Date.now() + ms, ...change });

t.test('refreshed shortly before it expires: once for concurrent calls, the rotated token kept', async (t) => {
  const before = await stored();
  t.ok(before.refreshToken, 'a refresh token was issued');
  t.same(before.scopes, ['read', 'write']);
  const first = (await whoami()).result.structuredContent;
  t.equal(be.as.counters.refreshes, 0, 'a fresh token is used as it is');

  await expireIn(30_000);
  const answers = await Promise.all([whoami(), whoami(), whoami()]);
  t.equal(be.as.counters.refreshes, 1, 'one refresh for three calls');
  const prints = new Set(answers.map((a) => a.result.structuredContent.fingerprint));
  t.equal(prints.size, 1);
  t.not([...prints][0], first.fingerprint, 'a new access token');
  const after = await stored();
  t.not(after.refreshToken, before.refreshToken, 'the rotated refresh token is kept');
  t.ok(after.expiresAt! - Date.now() > 30 * 60_000);
  t.equal(after.connectedAt, before.connectedAt);
  t.equal((await whoami()).result.structuredContent.sub, 'alice');
  t.equal(be.as.counters.refreshes, 1, 'not again while it is fresh');
});

t.test('the authorization server unreachable: UPSTREAM_TOKEN_FAILED, the connection kept', async (t) => {
  await expireIn(-1000);
  await be.as.stop();
  const r = await whoami();
  t.equal(r.error.data.code, 'UPSTREAM_TOKEN_FAILED');
  t.match(r.error.message, /backend "gh"/);
  const logged = proxy.logs().find((l) => l.event === 'upstream.token_failed' && l.backend === 'gh');
  t.equal(logged?.kind, 'oauth');
  t.ok(logged?.reason, 'the reason is logged');
  t.ok(await connections.get('alice', 'gh'), 'still connected');
  await be.as.start();
  const calls = be.mcp.calls.length;
  t.equal((await whoami()).result.structuredContent.sub, 'alice', 'refreshed once the server is back');
  t.equal(be.mcp.calls.length, calls + 1);
  t.equal(be.as.counters.refreshes, 2);
});

t.test('a refused refresh (revoked at the server): the connection is removed, connect again', async (t) => {
  const c = await stored();
  const rt = await be.as.provider.RefreshToken.find(c.refreshToken!);
  await rt!.destroy();
  await expireIn(-1000);
  const r = await whoami();
  t.equal(r.error.code, -32042);
  t.match(r.error.data.elicitations[0].url, new RegExp(`^${proxy.url}/connect/gh\\?elicitation=`));
  t.equal(await connections.get('alice', 'gh'), undefined, 'forgotten');
  const refused = proxy.logs().find((l) => l.event === 'upstream.connection_refused');
  t.equal(refused?.error, 'invalid_grant');
  const logs = JSON.stringify(proxy.logs());
  t.notOk(logs.includes(c.refreshToken!) || logs.includes(c.accessToken), 'no token in the logs');
});

t.test('connected with another client than the current one: not refreshed, connect again', async (t) => {
  const again = await headlessLogin({
    startUrl: `${proxy.url}/connect/gh?returnTo=/oauth/status`,
    username: 'alice',
    password: 'alice',
    jar: alice.jar,
  });
  t.equal(again.finalUrl, `${proxy.url}/oauth/status`);
  t.equal((await whoami()).result.structuredContent.sub, 'alice', 'connected again');
  const refreshes = be.as.counters.refreshes;
  await expireIn(-1000, { clientId: 'a-client-registered-before' });
  const r = await whoami();
  t.equal(r.error.code, -32042);
  t.equal(be.as.counters.refreshes, refreshes, 'that refresh token is not sent with our client');
  t.equal(await connections.get('alice', 'gh'), undefined);
  t.ok(proxy.logs().some((l) => l.event === 'upstream.connection_refused' && /client changed/.test(String(l.why))));
});

t.test('an API key cannot have a connection: a clear error', async (t) => {
  const res = await fetch(`${proxy.url}/mcp/gh`, {
    method: 'POST',
    headers: { ...key.headers, 'content-type': 'application/json', accept: MCP_ACCEPT },
    body: rpc('tools/list', {}, 3),
  });
  const r = await readRpc(res);
  t.equal(res.status, 200);
  t.equal(r.error.data.code, 'UPSTREAM_TOKEN_UNAVAILABLE');
  const list = await (await fetch(`${proxy.url}/api/connections`, { headers: key.headers })).json();
  t.same(list, { connections: [{ backend: 'gh', kind: 'oauth', connected: false, scopes: [], expiresAt: null }] });
});

t.test('metrics: refreshed, failed and connect_required counted', async (t) => {
  const text = await (await fetch(`${proxy.url}/metrics`)).text();
  for (const result of ['refreshed', 'failed', 'connect_required'])
    t.match(text, new RegExp(`upstream_tokens_total\\{backend="gh",kind="oauth",result="${result}"\\} [1-9]`));
});
