/**
 * Logout that reaches live sessions: "log out everywhere" ends every browser session of the
 * user, revokes the grants their MCP clients hold (access token refused at once, refresh token
 * dead), cuts their open GET streams and ends their stdio processes — and leaves other users
 * alone. OIDC Back-Channel Logout from the IdP (a real oidc-provider) does the same; forged
 * or malformed logout tokens are refused.
 */
import t from 'tap';
import { SignJWT, generateKeyPair } from 'jose';
import { startStack } from '../helpers/stack.js';
import { CookieJar, headlessLogin } from '../helpers/login.js';
import { connectWithOAuth } from '../helpers/oauth-client.js';
import { tokenRequest } from '../helpers/oauth-manual.js';
import { loginThroughProxy } from '../helpers/session-client.js';
import { DEMO_STDIO, connect, openStream, stdioOf, whoami } from '../helpers/stdio-stack.js';

const stack = await startStack({
  consent: false,
  backends: (url) => [
    { name: 'demo', http: { url } },
    { name: 'legacy', stdio: { command: process.execPath, args: [DEMO_STDIO], isolation: 'user' } },
  ],
  idpClient: (publicUrl) => ({
    backchannel_logout_uri: `${publicUrl}/oauth/backchannel-logout`,
    backchannel_logout_session_required: true,
  }),
});
t.teardown(() => stack.close());
const { proxy, idp } = stack;
const legacy = `${proxy.url}/mcp/legacy`;

const status = async (cookie: string) =>
  (await (await fetch(`${proxy.url}/oauth/status`, { headers: { cookie } })).json()) as {
    authenticated: boolean;
    csrfToken?: string;
    user?: { sub: string };
  };
t.test('log out everywhere', async (t) => {
  const a1 = await loginThroughProxy(proxy.url, 'alice');
  const a2 = await loginThroughProxy(proxy.url, 'alice');
  const bob = await loginThroughProxy(proxy.url, 'bob');
  const mcp = await connectWithOAuth(`${proxy.url}/mcp/demo`, { username: 'alice', password: 'alice' });
  t.equal((await whoami(mcp.client)).user, 'alice', "alice's MCP client works");
  const aliceLegacy = await connect(legacy, a1.cookie);
  t.equal((await whoami(aliceLegacy.client)).meta.sub, 'alice');
  const bobLegacy = await connect(legacy, bob.cookie);
  t.equal((await whoami(bobLegacy.client)).meta.sub, 'bob');
  const stream = await openStream(legacy, a2.cookie);
  t.equal(stream.status, 200, 'a GET stream is open');
  t.equal(stdioOf('alice').length, 1, "alice's stdio process runs");

  const csrf = (await status(a1.cookie)).csrfToken!;
  const out = await fetch(`${proxy.url}/oauth/logout`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      cookie: a1.cookie,
      origin: proxy.url,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams({ csrf, everywhere: '1' }),
  });
  t.equal(out.status, 200);
  t.equal(((await out.json()) as { loggedOut: boolean }).loggedOut, true);

  t.equal((await status(a1.cookie)).authenticated, false, 'the cookie that logged out is refused (replayed copy)');
  t.equal((await status(a2.cookie)).authenticated, false, "alice's other browser session ended too");
  t.equal(await stream.ended, true, "alice's open GET stream was cut");
  const call = await fetch(`${proxy.url}/mcp/demo`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${mcp.provider.saved!.access_token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
  });
  t.equal(call.status, 401, "the MCP client's access token is refused at once");
  await call.text();
  const meta = (await (await fetch(`${proxy.url}/.well-known/oauth-authorization-server`)).json()) as Record<
    string,
    string
  >;
  const refresh = await tokenRequest(meta, {
    grant_type: 'refresh_token',
    refresh_token: mcp.provider.saved!.refresh_token!,
    client_id: mcp.provider.info!.client_id,
  });
  t.equal(refresh.body.error, 'invalid_grant', 'and its refresh token is dead');
  for (let i = 0; i < 30 && stdioOf('alice').length; i++) await new Promise((r) => setTimeout(r, 100));
  t.same(stdioOf('alice'), [], "alice's stdio process ended");

  t.equal((await status(bob.cookie)).user?.sub, 'bob', 'bob is still logged in');
  t.equal((await whoami(bobLegacy.client)).meta.sub, 'bob', "bob's stdio session still works");
  t.equal(stdioOf('bob').length, 1);
  await bobLegacy.client.close();
  await mcp.client.close().catch(() => undefined);
});

t.test('back-channel logout from the IdP logs the user out everywhere', async (t) => {
  const jar = new CookieJar();
  const carol = await headlessLogin({
    startUrl: `${proxy.url}/oauth/login`,
    username: 'alice',
    password: 'alice',
    jar,
  });
  const cookie = jar.header(`${proxy.url}/`)!;
  t.ok(carol.finalUrl, 'logged in');
  t.equal((await status(cookie)).user?.sub, 'alice');
  const session = await connect(legacy, cookie);
  t.equal((await whoami(session.client)).meta.sub, 'alice');
  const events: string[] = [];
  idp.provider.on('backchannel.error', (_ctx: unknown, err: Error) =>
    events.push(`error: ${err.message} ${String((err as { cause?: unknown }).cause)}`),
  );
  idp.provider.on('backchannel.success', () => events.push('success'));
  // The user signs out at the IdP: it calls our back-channel logout URI.
  const bye = await headlessLogin({ startUrl: `${idp.issuer}/session/end`, username: 'alice', password: 'alice', jar });
  t.ok(
    bye.hops.some((h) => h.includes('/session/end/confirm')),
    'signed out at the IdP',
  );
  let ended = false;
  for (let i = 0; i < 30 && !ended; i++) {
    ended = !(await status(cookie)).authenticated;
    if (!ended) await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(ended, 'the browser session ended when the IdP said so');
  t.same(events, ['success'], 'the IdP called our back-channel logout URI, which answered 200');
  for (let i = 0; i < 30 && stdioOf('alice').length; i++) await new Promise((r) => setTimeout(r, 100));
  t.same(stdioOf('alice'), [], 'and the stdio process');
  await session.client.close().catch(() => undefined);
});

t.test('forged and malformed logout tokens are refused', async (t) => {
  const post = (body: Record<string, string>) =>
    fetch(`${proxy.url}/oauth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body),
    });
  const missing = await post({});
  t.equal(missing.status, 400);
  t.equal(((await missing.json()) as { error: string }).error, 'invalid_request');
  const garbage = await post({ logout_token: 'not.a.jwt' });
  t.equal(garbage.status, 400);
  await garbage.text();
  const { privateKey } = await generateKeyPair('ES256');
  const forged = await new SignJWT({
    events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
    sub: 'bob',
    jti: 'forged-1',
  })
    .setProtectedHeader({ alg: 'ES256', kid: 'attacker' })
    .setIssuer(idp.issuer)
    .setAudience('mcp-proxy-test')
    .setIssuedAt()
    .sign(privateKey);
  const res = await post({ logout_token: forged });
  t.equal(res.status, 400, 'a token not signed by the IdP is refused');
  t.match(((await res.json()) as { error_description: string }).error_description, /invalid logout_token/);
  const noneClaims = {
    iss: idp.issuer,
    aud: 'mcp-proxy-test',
    sub: 'bob',
    jti: 'n',
    iat: Math.floor(Date.now() / 1000),
    events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
  };
  const none =
    `${Buffer.from('{"alg":"none"}').toString('base64url')}.` +
    `${Buffer.from(JSON.stringify(noneClaims)).toString('base64url')}.`;
  const alg = await post({ logout_token: none });
  t.equal(alg.status, 400, 'alg none is refused');
  await alg.text();
  const bob = await loginThroughProxy(proxy.url, 'bob');
  t.equal((await status(bob.cookie)).user?.sub, 'bob', 'bob was never logged out by any of them');
});
