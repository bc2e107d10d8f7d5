// Requests without a credential, with forged ones, or from the wrong place never reach a backend.
import t from 'tap';
import { startDemoHttpServer } from '../../examples/demo-http-server.mjs';
import { OTHER_SESSION_KEY, startProxy } from '../helpers/proxy.js';
import { sealSessionCookie, sessionUser } from '../helpers/seal-cookie.js';
import { DPOP_OFFER } from '../helpers/dpop.js';

const backend = await startDemoHttpServer();
const proxy = await startProxy({
  oidc: { issuer: 'http://127.0.0.1:9/oauth2/default', clientId: 'x', clientSecret: 'y' },
  backends: [{ name: 'demo', http: { url: backend.url } }],
});
t.teardown(async () => {
  await proxy.close();
  await backend.close();
});

const init = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
});
const post = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${proxy.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: init,
  });

t.test('anonymous MCP requests get 401 with the resource metadata pointer for the path used', async (t) => {
  for (const path of ['/mcp/demo', '/mcp']) {
    const res = await post(path);
    t.equal(res.status, 401, path);
    t.equal(
      res.headers.get('www-authenticate'),
      `Bearer resource_metadata="${proxy.url}/.well-known/oauth-protected-resource${path}", scope="mcp"${DPOP_OFFER}`,
    );
    const body = (await res.json()) as { jsonrpc: string; error: { code: number } };
    t.equal(body.jsonrpc, '2.0');
    t.equal(body.error.code, -32001);
  }
  t.equal(backend.seen.length, 0, 'the backend saw nothing');
});

t.test('spoofed identity headers without a session are refused', async (t) => {
  const res = await post('/mcp/demo', {
    'x-forwarded-user': 'admin',
    'x-forwarded-groups': 'admin',
    'x-mcp-proxy-assertion': 'x.y.z',
    authorization: 'Bearer whatever',
  });
  t.equal(res.status, 401);
  t.equal(backend.seen.length, 0);
});

t.test('tampered, truncated and other-key cookies are no session', async (t) => {
  const { app } = proxy;
  const good = app.encodeSecureSession(
    app.createSecureSession({
      user: {
        sid: 's',
        sub: 'mallory',
        groups: ['admin'],
        iat: Date.now(),
        seen: Date.now(),
        exp: Date.now() + 60_000,
        csrf: 'c',
      },
    }),
  );
  const flipped = good.slice(0, 10) + (good[10] === 'A' ? 'B' : 'A') + good.slice(11);
  const foreign = await sealSessionCookie(OTHER_SESSION_KEY, sessionUser('mallory'));
  for (const [label, cookie] of [
    ['tampered', flipped],
    ['truncated', good.slice(0, good.length - 8)],
    ['other key', foreign],
    ['garbage', 'not-a-cookie'],
  ] as const) {
    const res = await post('/mcp/demo', { cookie: `mcp_proxy_session=${encodeURIComponent(cookie)}` });
    t.equal(res.status, 401, label);
    const status = await (
      await fetch(`${proxy.url}/oauth/status`, {
        headers: { cookie: `mcp_proxy_session=${encodeURIComponent(cookie)}` },
      })
    ).json();
    t.same(status, { authenticated: false }, `${label}: status says logged out`);
  }
  t.equal(backend.seen.length, 0);
});

t.test('an expired or idle session is no session', async (t) => {
  const { app } = proxy;
  const now = Date.now();
  const expired = app.encodeSecureSession(
    app.createSecureSession({
      user: { sid: 'a', sub: 'alice', groups: [], iat: now - 9e6, seen: now - 1000, exp: now - 1, csrf: 'c' },
    }),
  );
  const idle = app.encodeSecureSession(
    app.createSecureSession({
      user: { sid: 'b', sub: 'alice', groups: [], iat: now, seen: now - 2 * 3600_000, exp: now + 3600_000, csrf: 'c' },
    }),
  );
  for (const [label, cookie] of [
    ['expired', expired],
    ['idle', idle],
  ]) {
    const res = await post('/mcp/demo', { cookie: `mcp_proxy_session=${encodeURIComponent(cookie)}` });
    t.equal(res.status, 401, label);
    t.match(res.headers.get('set-cookie') ?? '', /mcp_proxy_session=;/, `${label}: the cookie is cleared`);
  }
});

t.test('browsers are sent to log in, with a safe returnTo', async (t) => {
  const res = await fetch(`${proxy.url}/mcp/demo`, { headers: { accept: 'text/html' }, redirect: 'manual' });
  t.equal(res.status, 302);
  t.equal(res.headers.get('location'), '/oauth/login?returnTo=%2Fmcp%2Fdemo');
});

t.test('logout by GET is refused; status is JSON when logged out', async (t) => {
  const res = await fetch(`${proxy.url}/oauth/logout`, { redirect: 'manual' });
  t.equal(res.status, 405);
  t.equal(res.headers.get('allow'), 'POST');
  const status = await fetch(`${proxy.url}/oauth/status`);
  t.equal(status.status, 200);
  t.same(await status.json(), { authenticated: false });
});

t.test('DNS rebinding: a non-loopback Host is refused when bound to loopback', async (t) => {
  const { request } = await import('undici');
  const res = await request(`${proxy.url}/healthz`, { headers: { host: 'evil.example.com' } });
  t.equal(res.statusCode, 403);
  await res.body.dump();
  const ok = await request(`${proxy.url}/healthz`, { headers: { host: 'localhost:1234' } });
  t.equal(ok.statusCode, 200);
  await ok.body.dump();
});

t.test('a foreign Origin on /mcp is 403', async (t) => {
  const res = await post('/mcp/demo', { origin: 'https://evil.example.com' });
  t.equal(res.status, 403);
  t.equal(backend.seen.length, 0);
});

t.test('paths never reach another backend', async (t) => {
  for (const path of ['/mcp/demo/../other', '/mcp/demo%2F..%2Fother', '/mcp/..%2Fdemo', '/mcp/other', '/mcp/demo/x']) {
    const res = await post(path);
    t.ok([401, 404].includes(res.status), `${path} → ${res.status}`);
  }
  t.equal(backend.seen.length, 0);
});

t.test('health and jwks', async (t) => {
  t.same(await (await fetch(`${proxy.url}/healthz`)).json(), { status: 'ok' });
  const ready = (await (await fetch(`${proxy.url}/readyz`)).json()) as {
    ready: boolean;
    idp: { ok: boolean };
    backends: Record<string, { ok: boolean }>;
  };
  t.equal(ready.ready, true);
  t.equal(ready.idp.ok, false, 'an unreachable IdP is reported, not fatal');
  t.equal(ready.backends.demo.ok, true);
  const jwks = (await (await fetch(`${proxy.url}/.well-known/jwks.json`)).json()) as {
    keys: Array<Record<string, unknown>>;
  };
  t.equal(jwks.keys.length, 1);
  t.equal(jwks.keys[0].kty, 'EC');
  t.notOk('d' in jwks.keys[0], 'no private part');
});

t.test('/api/* is deny-by-default too', async (t) => {
  for (const path of ['/api/backends', '/api/backends/demo/tools', '/api/nothing']) {
    const res = await fetch(`${proxy.url}${path}`);
    t.equal(res.status, 401, path);
    t.equal(
      res.headers.get('www-authenticate'),
      `Bearer resource_metadata="${proxy.url}/.well-known/oauth-protected-resource${path}", scope="mcp"${DPOP_OFFER}`,
    );
    t.same(await res.json(), { error: { code: 'UNAUTHENTICATED', message: 'authentication required' } });
  }
});
