// Browser login end to end: a real oidc-provider (Okta-like issuer path), the real proxy, the
// SDK-built demo backend. Login form then consent form, headless.
import t from 'tap';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { CookieJar, headlessLogin } from '../helpers/login.js';
import { loginThroughProxy, mcpSession, readRpc } from '../helpers/session-client.js';
import { CLIENT_SECRET, startStack } from '../helpers/stack.js';

const stack = await startStack({ consent: true });
const { proxy, backend, idp } = stack;
t.teardown(() => stack.close());

t.test('login through both IdP forms lands on returnTo with a session', async (t) => {
  const { jar, result } = await loginThroughProxy(proxy.url, 'alice', 'alice', '/oauth/status');
  t.equal(result.finalUrl, `${proxy.url}/oauth/status`);
  const hops = result.hops.join('\n');
  t.match(hops, `GET ${idp.issuer}/auth`, 'went to the IdP authorization endpoint');
  t.match(hops, /POST .*\/interaction\/.*\/login/, 'submitted the login form');
  t.match(hops, /POST .*\/interaction\/.*\/confirm/, 'submitted the consent form');
  const status = (await (
    await fetch(`${proxy.url}/oauth/status`, { headers: { cookie: jar.header(proxy.url)! } })
  ).json()) as any;
  t.equal(status.authenticated, true);
  t.same(status.user, {
    sub: 'alice',
    email: 'alice@example.com',
    name: 'Alice Example',
    groups: ['admin', 'support'],
    tenant: null,
  });
  t.ok(Date.parse(status.expiresAt) > Date.now() + 7 * 3600_000, 'absolute expiry about 8 h away');
  const raw = jar.cookies(proxy.url).find((c) => c.name === 'mcp_proxy_session');
  t.ok(raw, 'session cookie set');
  t.notMatch(decodeURIComponent(raw!.value), /alice/, 'the cookie is encrypted');
});

t.test('the session cookie is HttpOnly, SameSite=Lax, path /; the tx cookie is scoped to the callback', async (t) => {
  const start = await fetch(`${proxy.url}/oauth/login`, { redirect: 'manual' });
  t.equal(start.status, 302);
  const tx = start.headers.getSetCookie().find((c) => c.startsWith('mcp_proxy_session_tx='))!;
  t.match(tx, /Path=\/oauth\/callback/);
  t.match(tx, /HttpOnly/);
  t.match(tx, /SameSite=Lax/);
  const auth = new URL(start.headers.get('location')!);
  t.equal(auth.searchParams.get('code_challenge_method'), 'S256');
  t.ok(auth.searchParams.get('state') && auth.searchParams.get('nonce') && auth.searchParams.get('code_challenge'));
  t.equal(auth.searchParams.get('redirect_uri'), `${proxy.url}/oauth/callback`);
  // Finish a login by hand to read the callback's own Set-Cookie headers.
  const jar = new CookieJar();
  const r = await headlessLogin({
    startUrl: `${proxy.url}/oauth/login`,
    username: 'alice',
    password: 'alice',
    jar,
    stopAt: (u) => u.pathname === '/oauth/callback',
  });
  const callback = await fetch(r.finalUrl, { headers: { cookie: jar.header(r.finalUrl)! }, redirect: 'manual' });
  t.equal(callback.status, 302);
  const set = callback.headers.getSetCookie();
  const session = set.find((c) => /^mcp_proxy_session=[^;]/.test(c))!;
  t.ok(session, 'session cookie set');
  t.match(session, /; Path=\/(;|$)/);
  t.match(session, /HttpOnly/);
  t.match(session, /SameSite=Lax/);
  t.match(session, /Max-Age=28800/, 'browser keeps it for maxAge (8 h)');
  t.notMatch(session, /Secure/, 'not Secure on a plain-http publicUrl');
  t.ok(
    set.some((c) => /^mcp_proxy_session_tx=;/.test(c)),
    'the login transaction cookie is cleared',
  );
});

t.test('the backend sees the right identity and a valid assertion; credentials do not leak', async (t) => {
  const { cookie } = await loginThroughProxy(proxy.url, 'bob');
  const mcp = await mcpSession(`${proxy.url}/mcp/demo`, {
    cookie,
    'x-forwarded-user': 'alice',
    'x-forwarded-groups': 'admin',
    'x-mcp-proxy-assertion': 'forged',
  });
  const res = await mcp.call('tools/call', { name: 'whoami', arguments: {} });
  t.equal(res.status, 200);
  const who = (await readRpc(res)).result.structuredContent;
  t.equal(who.user, 'bob', 'spoofed X-Forwarded-User replaced');
  t.equal(who.email, 'bob@example.com');
  t.same(who.groups, ['support'], 'spoofed groups replaced');
  t.equal(who.assertion.valid, true, 'the assertion verifies against the proxy JWKS');
  t.equal(who.assertion.claims.sub, 'bob');
  t.equal(who.assertion.claims.iss, proxy.url);
  t.ok(who.assertion.claims.exp - who.assertion.claims.iat <= 60);
  t.equal(who.leakedAuthorization, false);
  t.equal(who.leakedCookie, false);
  const jwks = createRemoteJWKSet(new URL(`${proxy.url}/.well-known/jwks.json`));
  const last = backend.seen.at(-1)!;
  const { payload } = await jwtVerify(String(last.headers['x-mcp-proxy-assertion']), jwks, {
    issuer: proxy.url,
    audience: 'demo',
  });
  t.equal(payload.sub, 'bob');
  t.equal(last.headers['x-forwarded-user'], 'bob');
  t.equal(last.headers.cookie, undefined);
});

t.test('an MCP session belongs to the user who created it', async (t) => {
  const a = await loginThroughProxy(proxy.url, 'alice');
  const b = await loginThroughProxy(proxy.url, 'bob');
  const mcp = await mcpSession(`${proxy.url}/mcp/demo`, { cookie: a.cookie });
  const seen = backend.seen.length;
  const stolen = await fetch(`${proxy.url}/mcp/demo`, {
    method: 'POST',
    headers: { ...mcp.headers, cookie: b.cookie },
    body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list' }),
  });
  t.equal(stolen.status, 404, "another user presenting alice's session id gets 404");
  t.equal(backend.seen.length, seen, 'the backend never saw it');
  t.ok(
    proxy.logs().some((l) => l.event === 'mcp.session_foreign'),
    'the attempt is logged',
  );
  const own = await mcp.call('tools/list');
  t.equal(own.status, 200);
  const del = await fetch(`${proxy.url}/mcp/demo`, { method: 'DELETE', headers: mcp.headers });
  t.ok(del.status < 300, `DELETE ends the session (${del.status})`);
});

t.test('a new session id at every login (no fixation)', async (t) => {
  const one = await loginThroughProxy(proxy.url, 'alice');
  const two = await loginThroughProxy(proxy.url, 'alice');
  t.not(one.cookie, two.cookie);
  const decode = (c: string) =>
    proxy.app.decodeSecureSession(decodeURIComponent(c.match(/mcp_proxy_session=([^;]+)/)![1]!))!.get('user');
  t.not(decode(one.cookie)!.sid, decode(two.cookie)!.sid);
  t.not(decode(one.cookie)!.csrf, decode(two.cookie)!.csrf);
});

t.test('state mismatch and a replayed callback are refused', async (t) => {
  const jar = new CookieJar();
  const stop = (u: URL) => u.pathname === '/oauth/callback';
  const r = await headlessLogin({
    startUrl: `${proxy.url}/oauth/login`,
    username: 'alice',
    password: 'alice',
    jar,
    stopAt: stop,
  });
  const callback = new URL(r.finalUrl);
  const tampered = new URL(callback);
  tampered.searchParams.set('state', 'not-the-state');
  const bad = await fetch(tampered, { headers: { cookie: jar.header(callback)! }, redirect: 'manual' });
  t.equal(bad.status, 400, 'state mismatch');
  t.notOk(
    bad.headers.getSetCookie().some((c) => /^mcp_proxy_session=[^;]/.test(c)),
    'no session minted',
  );
  // A fresh transaction, completed once, then replayed.
  const jar2 = new CookieJar();
  const r2 = await headlessLogin({
    startUrl: `${proxy.url}/oauth/login`,
    username: 'alice',
    password: 'alice',
    jar: jar2,
    stopAt: stop,
  });
  const txCookie = jar2.header(r2.finalUrl)!;
  const first = await fetch(r2.finalUrl, { headers: { cookie: txCookie }, redirect: 'manual' });
  t.equal(first.status, 302, 'the genuine callback logs in');
  const replay = await fetch(r2.finalUrl, { headers: { cookie: txCookie }, redirect: 'manual' });
  t.equal(replay.status, 400, 'replaying the same callback (same tx cookie, used code) is refused');
  const noCookie = await fetch(r2.finalUrl, { redirect: 'manual' });
  t.equal(noCookie.status, 400, 'a callback without the login cookie is refused');
});

t.test('returnTo open-redirect forms fall back to /', async (t) => {
  for (const evil of ['//evil.com', '/\\evil.com', 'https://evil.com', '%2F%2Fevil.com', '/%5Cevil.com']) {
    const { result } = await loginThroughProxy(proxy.url, 'alice', 'alice', evil);
    t.equal(result.finalUrl, `${proxy.url}/`, `${evil} → /`);
  }
});

t.test('logout: POST with the CSRF token only; ends the session and goes to the IdP logout', async (t) => {
  const { cookie } = await loginThroughProxy(proxy.url, 'alice');
  const status = (await (await fetch(`${proxy.url}/oauth/status`, { headers: { cookie } })).json()) as any;
  const noToken = await fetch(`${proxy.url}/oauth/logout`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: '',
    redirect: 'manual',
  });
  t.equal(noToken.status, 403, 'no CSRF token');
  const wrong = await fetch(`${proxy.url}/oauth/logout`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'csrf=wrong',
    redirect: 'manual',
  });
  t.equal(wrong.status, 403, 'wrong CSRF token');
  const foreign = await fetch(`${proxy.url}/oauth/logout`, {
    method: 'POST',
    headers: { cookie, origin: 'https://evil.example.com', 'content-type': 'application/x-www-form-urlencoded' },
    body: `csrf=${status.csrfToken}`,
    redirect: 'manual',
  });
  t.equal(foreign.status, 403, 'foreign Origin');
  t.equal(
    ((await (await fetch(`${proxy.url}/oauth/status`, { headers: { cookie } })).json()) as any).authenticated,
    true,
    'still logged in after refused attempts',
  );
  const ok = await fetch(`${proxy.url}/oauth/logout`, {
    method: 'POST',
    headers: { cookie, origin: proxy.url, 'content-type': 'application/x-www-form-urlencoded' },
    body: `csrf=${encodeURIComponent(status.csrfToken)}`,
    redirect: 'manual',
  });
  t.equal(ok.status, 303);
  const loc = new URL(ok.headers.get('location')!);
  t.equal(loc.origin + loc.pathname, `${idp.issuer}/session/end`, 'RP-initiated logout at the IdP');
  t.ok(loc.searchParams.get('id_token_hint'));
  t.equal(loc.searchParams.get('post_logout_redirect_uri'), `${proxy.url}/`);
  t.ok(
    ok.headers.getSetCookie().some((c) => /^mcp_proxy_session=;/.test(c)),
    'cookie cleared',
  );
  const replayed = (await (await fetch(`${proxy.url}/oauth/status`, { headers: { cookie } })).json()) as any;
  t.equal(replayed.authenticated, false, 'a copy of the old cookie no longer authenticates');
});

t.test('oversized body → 413; backend down → 502 JSON-RPC error naming it', async (t) => {
  const { cookie } = await loginThroughProxy(proxy.url, 'alice');
  const big = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'echo', arguments: { text: 'x'.repeat(5 * 1024 * 1024) } },
  });
  const res = await fetch(`${proxy.url}/mcp/demo`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: big,
  });
  t.equal(res.status, 413);
  t.equal(((await res.json()) as any).error.code, -32600);
});

t.test('secrets, codes and tokens never reach the logs', async (t) => {
  await loginThroughProxy(proxy.url, 'alice');
  const text = JSON.stringify(proxy.logs());
  t.notMatch(text, CLIENT_SECRET);
  t.notMatch(text, /code=(?!\[redacted\])[A-Za-z0-9_-]{10,}/, 'authorization codes are redacted from logged URLs');
  t.notMatch(text, /state=(?!\[redacted\])[A-Za-z0-9_-]{10,}/);
  t.notMatch(text, /eyJ[A-Za-z0-9_-]{10,}\./, 'no JWT in any log line');
  t.notMatch(text, /mcp_proxy_session=/, 'no cookie value');
});

t.test('GET /api/backends with a session lists the backends; unknown API paths are JSON 404', async (t) => {
  const { cookie } = await loginThroughProxy(proxy.url, 'alice');
  const res = await fetch(`${proxy.url}/api/backends`, { headers: { cookie } });
  t.equal(res.status, 200);
  t.same(await res.json(), {
    backends: [
      { name: 'demo', title: null, description: null, kind: 'http', url: `${proxy.url}/mcp/demo`, default: true },
    ],
  });
  const missing = await fetch(`${proxy.url}/api/nope`, { headers: { cookie } });
  t.equal(missing.status, 404);
  t.equal(((await missing.json()) as any).error.code, 'NOT_FOUND');
});
