/**
 * The authorization server's own browser session follows the proxy's: logging out ends both
 * (cookie expired, record deleted), and a code is only ever issued for the user logged in to
 * the proxy in that browser — a browser that changed hands never gets the first user's tokens.
 */
import t from 'tap';
import { decodeJwt } from 'jose';
import { MemoryStore } from '../../src/store/memory.js';
import { CookieJar, headlessLogin } from '../helpers/login.js';
import { authorizeUrl, getCode, pkce, register, tokenRequest } from '../helpers/oauth-manual.js';
import { logoutThroughProxy, sessionStatus } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';

const store = new MemoryStore();
const stack = await startStack({ consent: false, deps: { store } });
t.teardown(() => stack.close());
const { proxy, idp } = stack;
const REDIRECT = 'http://127.0.0.1:33418/callback';
const resource = `${proxy.url}/mcp/demo`;
const AS_SESSION = 'mcp_proxy_as_session';

/** An MCP client's authorization in the browser `jar`: the code's token, and where /auth sent the browser first. */
async function authorize(jar: CookieJar, clientId: string, meta: Record<string, string>, user: string) {
  const { verifier, challenge } = pkce();
  const url = authorizeUrl(meta, { client_id: clientId, redirect_uri: REDIRECT, code_challenge: challenge, resource });
  const first = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header(url) ?? '' } });
  await first.body?.cancel();
  const firstHop = new URL(first.headers.get('location') ?? '', url);
  const { code } = await getCode(url, REDIRECT, user, jar);
  const tok = await tokenRequest(meta, {
    grant_type: 'authorization_code',
    code: code!,
    code_verifier: verifier,
    client_id: clientId,
    redirect_uri: REDIRECT,
    resource,
  });
  return { sub: tok.body.access_token ? decodeJwt(tok.body.access_token).sub : undefined, firstHop };
}

/** The IdP forgets the browser's user too (as a user signing out there would), so another can log in. */
async function signOutAtIdp(jar: CookieJar) {
  await headlessLogin({ startUrl: `${idp.issuer}/session/end`, username: '', password: '', jar });
}

t.test('logout ends the AS session; the next user of the browser gets tokens for themselves only', async (t) => {
  const jar = new CookieJar();
  const { meta, client } = await register(proxy.url, REDIRECT);
  t.equal((await authorize(jar, client.client_id, meta, 'alice')).sub, 'alice', "alice's MCP client is authorized");
  const asSession = jar.get(`${proxy.url}/`, AS_SESSION);
  const asCookies = jar
    .cookies(`${proxy.url}/`)
    .filter((c) => c.name.startsWith(AS_SESSION))
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
  t.ok(asSession, 'the authorization server holds a session in this browser');
  t.ok(await store.get(`as:Session:${asSession}`), 'and its record');

  const out = await logoutThroughProxy(proxy.url, jar.header(`${proxy.url}/`)!);
  t.equal(out.status, 200);
  jar.setFromResponse(`${proxy.url}/oauth/logout`, out);
  await out.body?.cancel();
  t.equal(jar.get(`${proxy.url}/`, AS_SESSION), undefined, "the AS's session cookie is expired by the logout");
  t.equal(await store.get(`as:Session:${asSession}`), undefined, 'and its record deleted');

  const { challenge } = pkce();
  const url = authorizeUrl(meta, {
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    code_challenge: challenge,
    resource,
  });
  const replay = await fetch(url, { redirect: 'manual', headers: { cookie: asCookies } });
  await replay.body?.cancel();
  const hop = new URL(replay.headers.get('location') ?? '', url);
  t.not(`${hop.origin}${hop.pathname}`, REDIRECT, 'a copy of the old AS session cookie gets no code');
  t.notOk(hop.searchParams.get('code'));

  await signOutAtIdp(jar);
  await headlessLogin({ startUrl: `${proxy.url}/oauth/login`, username: 'bob', password: 'bob', jar });
  t.equal(
    (await sessionStatus(proxy.url, jar.header(`${proxy.url}/`)!)).user?.sub,
    'bob',
    'bob is logged in to the proxy in that browser',
  );
  const bob = await authorize(jar, client.client_id, meta, 'bob');
  t.equal(bob.sub, 'bob', "the MCP client now gets bob's token, never alice's");
});

t.test('a browser whose proxy user changed without a logout gets no code for the previous user', async (t) => {
  const jar = new CookieJar();
  const { meta, client } = await register(proxy.url, REDIRECT);
  t.equal((await authorize(jar, client.client_id, meta, 'alice')).sub, 'alice');
  await signOutAtIdp(jar);
  // bob logs in to the proxy in the same browser: the AS session still names alice.
  await headlessLogin({ startUrl: `${proxy.url}/oauth/login`, username: 'bob', password: 'bob', jar });
  t.equal((await sessionStatus(proxy.url, jar.header(`${proxy.url}/`)!)).user?.sub, 'bob');
  const next = await authorize(jar, client.client_id, meta, 'bob');
  t.match(next.firstHop.pathname, /^\/interaction\//, '/auth asks again instead of answering with a code');
  t.equal(next.sub, 'bob', 'and the token is for bob');
});

t.test('with no proxy session at all, /auth never answers with a code from the AS session alone', async (t) => {
  const jar = new CookieJar();
  const { meta, client } = await register(proxy.url, REDIRECT);
  t.equal((await authorize(jar, client.client_id, meta, 'alice')).sub, 'alice');
  const { challenge } = pkce();
  const url = authorizeUrl(meta, {
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    code_challenge: challenge,
    resource,
  });
  // Only the AS's cookies (the proxy session cookie dropped, as after it expired).
  const asOnly = jar
    .cookies(url)
    .filter((c) => c.name.startsWith('mcp_proxy_as_'))
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
  const res = await fetch(url, { redirect: 'manual', headers: { cookie: asOnly } });
  await res.body?.cancel();
  const hop = new URL(res.headers.get('location') ?? '', url);
  t.match(hop.pathname, /^\/interaction\//, 'an interaction (login), not a code');
});
