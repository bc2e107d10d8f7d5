// MCP authorization end to end with the real SDK client: 401 → resource metadata → AS
// metadata → DCR → authorize → upstream login (real oidc-provider) → consent → code → token
// → tools/call → refresh → revoke → 401.
import t from 'tap';
import { connectWithOAuth } from '../helpers/oauth-client.js';
import { startStack } from '../helpers/stack.js';

const stack = await startStack({ consent: true, proxy: { authorizationServer: { accessTokenTtl: '3s' } } });
t.teardown(() => stack.close());
const { proxy } = stack;

t.test('metadata: RFC 9728 resource and RFC 8414 AS agree byte for byte', async (t) => {
  const prm = (await (await fetch(`${proxy.url}/.well-known/oauth-protected-resource/mcp/demo`)).json()) as any;
  t.equal(prm.resource, `${proxy.url}/mcp/demo`);
  t.same(prm.authorization_servers, [proxy.url]);
  const as = (await (await fetch(`${proxy.url}/.well-known/oauth-authorization-server`)).json()) as any;
  t.equal(as.issuer, prm.authorization_servers[0]);
  t.same(as.code_challenge_methods_supported, ['S256']);
  t.ok(as.registration_endpoint, 'DCR advertised');
  t.ok(as.revocation_endpoint && as.introspection_endpoint && as.device_authorization_endpoint);
  const oidc = (await (await fetch(`${proxy.url}/.well-known/openid-configuration`)).json()) as any;
  t.equal(oidc.issuer, proxy.url);
});

t.test('the SDK client authorizes through the proxy and calls a tool with a bearer token', async (t) => {
  const { client, provider, login } = await connectWithOAuth(`${proxy.url}/mcp/demo`, {
    username: 'alice',
    password: 'alice',
  });
  t.match(login.hops.join('\n'), /\/interaction\/[^/]+\/confirm/, 'the proxy consent page was submitted');
  t.ok(provider.saved?.access_token, 'access token');
  t.ok(provider.saved?.refresh_token, 'refresh token');
  const who = (await client.callTool({ name: 'whoami', arguments: {} })).structuredContent as any;
  t.equal(who.user, 'alice');
  t.same(who.groups, ['admin', 'support']);
  t.equal(who.assertion.valid, true);
  t.equal(who.leakedAuthorization, false, 'the bearer token is not passed through');

  // The access token lives 3 s: the SDK refreshes on the 401 and carries on.
  const before = provider.saved!.access_token;
  await new Promise((r) => setTimeout(r, 3500));
  const again = (await client.callTool({ name: 'whoami', arguments: {} })).structuredContent as any;
  t.equal(again.user, 'alice');
  t.not(provider.saved!.access_token, before, 'a new access token after refresh');
  t.ok(provider.saved!.refresh_token, 'a rotated refresh token');

  // Revoking the refresh token ends the grant: the live access token stops working at once.
  const as = (await (await fetch(`${proxy.url}/.well-known/oauth-authorization-server`)).json()) as any;
  const rev = await fetch(as.revocation_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: provider.saved!.refresh_token!, client_id: provider.info!.client_id }),
  });
  t.equal(rev.status, 200);
  const res = await fetch(`${proxy.url}/mcp/demo`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${provider.saved!.access_token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
  });
  t.equal(res.status, 401, 'revoked grant → 401');
  t.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  await client.close().catch(() => undefined);
});

t.test('a token for one backend is refused at another path', async (t) => {
  const { provider } = await connectWithOAuth(`${proxy.url}/mcp/demo`, { username: 'bob', password: 'bob' });
  const res = await fetch(`${proxy.url}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${provider.saved!.access_token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
  });
  t.equal(res.status, 401, 'aud is /mcp/demo, not /mcp');
  const status = (await (
    await fetch(`${proxy.url}/oauth/status`, { headers: { authorization: `Bearer ${provider.saved!.access_token}` } })
  ).json()) as any;
  t.equal(status.user.sub, 'bob', 'the same token identifies bob on /oauth/status');
  t.equal(status.source, 'bearer');
});

t.test('consent is remembered per user and client, and asked again for a new client', async (t) => {
  const first = await connectWithOAuth(`${proxy.url}/mcp/demo`, { username: 'alice', password: 'alice' });
  t.match(first.login.hops.join('\n'), /\/confirm/, 'first time: consent asked');
  await first.client.close();
  first.provider.saved = undefined;
  const again = await connectWithOAuth(
    `${proxy.url}/mcp/demo`,
    { username: 'alice', password: 'alice', jar: first.jar },
    first.provider,
  );
  t.notMatch(
    again.login.hops.join('\n'),
    /\/confirm|\/oauth\/login/,
    'same client, same user: no login, no consent page',
  );
  await again.client.close();
  const other = await connectWithOAuth(`${proxy.url}/mcp/demo`, {
    username: 'alice',
    password: 'alice',
    jar: first.jar,
  });
  t.match(other.login.hops.join('\n'), /\/confirm/, 'another client: consent asked again (confused-deputy defence)');
  await other.client.close();
});
