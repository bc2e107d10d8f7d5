// The oauth-backend fixture itself (test/helpers/backend-as.ts), driven as the proxy's engine will:
// RFC 9728 metadata → AS discovery → DCR → code + PKCE with `resource` → the SDK client calls
// whoami with the token; refresh rotation, revocation, the AS stopped and started again.
import t, { type Test } from 'tap';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { fingerprint, startOAuthBackend, type OAuthBackend } from '../helpers/backend-as.js';
import { CookieJar, headlessLogin } from '../helpers/login.js';

const REDIRECT = 'http://127.0.0.1:9/connect/callback'; // never fetched: headlessLogin stops there

async function whoami(url: string, token?: string) {
  const client = new Client({ name: 'fixture-test', version: '1.0.0' });
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  try {
    const r = await client.callTool({ name: 'whoami', arguments: {} });
    return r.structuredContent as { sub: string; scope: string; fingerprint: string; aud: string };
  } finally {
    await client.close();
  }
}

async function connect(t: Test, b: OAuthBackend, user: string) {
  const prm = (await (await fetch(b.mcp.resourceMetadataUrl)).json()) as {
    resource: string;
    authorization_servers: string[];
  };
  const discovered = await oidc.discovery(
    new URL(prm.authorization_servers[0]!),
    'unregistered',
    undefined,
    undefined,
    {
      execute: [oidc.allowInsecureRequests],
    },
  );
  const config = await oidc.dynamicClientRegistration(
    new URL(prm.authorization_servers[0]!),
    { redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
    undefined,
    { execute: [oidc.allowInsecureRequests] },
  );
  t.ok(discovered.serverMetadata().registration_endpoint, 'AS metadata names a registration endpoint');
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const authUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'read',
    resource: prm.resource,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const r = await headlessLogin({
    startUrl: authUrl.href,
    username: user,
    password: user,
    jar: new CookieJar(),
    stopAt: (u) => u.href.startsWith(REDIRECT),
  });
  const tokens = await oidc.authorizationCodeGrant(
    config,
    new URL(r.finalUrl),
    { pkceCodeVerifier: verifier, expectedState: state },
    { resource: prm.resource },
  );
  return { config, tokens, prm };
}

t.test('backend fixture: discovery, DCR, code + PKCE + resource, whoami, refresh, revoke', async (t) => {
  const b = await startOAuthBackend();
  t.teardown(() => b.close());

  const anon = await fetch(b.mcp.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
  });
  t.equal(anon.status, 401, 'no token: 401');
  t.equal(anon.headers.get('www-authenticate'), `Bearer resource_metadata="${b.mcp.resourceMetadataUrl}"`);
  await anon.body?.cancel();

  const alice = await connect(t, b, 'alice');
  t.equal(b.as.counters.registrations.length, 1, 'one registration');
  t.equal(b.as.counters.codeGrants, 1);
  t.same(b.as.counters.authorizations[0], {
    clientId: alice.config.clientMetadata().client_id,
    resource: b.mcp.url,
    scope: 'read',
  });
  t.ok(alice.tokens.refresh_token, 'a refresh token');
  const me = await whoami(b.mcp.url, alice.tokens.access_token);
  t.match(me, { sub: 'alice', scope: 'read', aud: b.mcp.url, fingerprint: fingerprint(alice.tokens.access_token) });

  const bob = await connect(t, b, 'bob');
  const him = await whoami(b.mcp.url, bob.tokens.access_token);
  t.equal(him.sub, 'bob');
  t.not(him.fingerprint, me.fingerprint, 'fingerprints tell the tokens apart');

  const refreshed = await oidc.refreshTokenGrant(alice.config, alice.tokens.refresh_token!, { resource: b.mcp.url });
  t.equal(b.as.counters.refreshes, 1, 'refresh counted');
  t.not(refreshed.refresh_token, alice.tokens.refresh_token, 'refresh token rotated');
  t.equal((await whoami(b.mcp.url, refreshed.access_token)).sub, 'alice', 'the refreshed token works');

  await oidc.tokenRevocation(alice.config, refreshed.refresh_token!);
  t.same(b.as.counters.revocations, [{ clientId: alice.config.clientMetadata().client_id, kind: 'RefreshToken' }]);
  await t.rejects(oidc.refreshTokenGrant(alice.config, refreshed.refresh_token!), {
    code: 'OAUTH_RESPONSE_BODY_ERROR',
    error: 'invalid_grant',
  });

  // A token with a broken signature is refused by the MCP server.
  const before = b.mcp.refused.length;
  await t.rejects(whoami(b.mcp.url, `${alice.tokens.access_token}x`));
  t.match(b.mcp.refused.slice(before), [/invalid token/]);
});

t.test('backend fixture: short access tokens expire; the AS stops and starts on its port', async (t) => {
  const b = await startOAuthBackend({ accessTokenTtl: 1 });
  t.teardown(() => b.close());
  const alice = await connect(t, b, 'alice');
  t.equal(alice.tokens.expires_in, 1, 'the short TTL applies');
  const exp = decodeJwt(alice.tokens.access_token).exp!;
  // Token expiry is a point in time, not an event: wait until it has passed.
  await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 50));
  await t.rejects(whoami(b.mcp.url, alice.tokens.access_token), 'the expired token is refused');
  t.match(b.mcp.refused.at(-1), /invalid token: ERR_JWT_EXPIRED/);

  await b.as.stop();
  t.equal(b.as.running(), false);
  await t.rejects(oidc.refreshTokenGrant(alice.config, alice.tokens.refresh_token!), 'AS down: refresh fails');
  await b.as.start();
  const again = await oidc.refreshTokenGrant(alice.config, alice.tokens.refresh_token!, { resource: b.mcp.url });
  t.equal((await whoami(b.mcp.url, again.access_token)).sub, 'alice', 'after the restart, state is kept');
  t.equal(b.as.counters.refreshes, 1);
});
