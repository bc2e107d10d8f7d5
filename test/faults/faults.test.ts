/**
 * Faults lose nothing: a backend that hangs, drips or dies; the IdP down, then back with new
 * signing keys; the proxy restarted. (SIGTERM with calls in flight: test/cli/cli.test.ts and
 * test/stdio/lifecycle.test.ts; a stdio server that crashes: test/stdio/isolation.test.ts.)
 */
import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { startStandaloneIdp } from '../../src/devidp/plugin.js';
import { countingHttpServer } from '../helpers/hostile-tokens.js';
import { freePort } from '../helpers/ports.js';
import { restartProxy, startProxy } from '../helpers/proxy.js';
import { loginThroughProxy } from '../helpers/session-client.js';

const KEY = 'faults-key';
const MCP = { 'x-api-key': KEY, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const call = (url: string, headers: Record<string, string> = MCP) =>
  fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', arguments: {} } }),
  });

// One misbehaving backend, its behaviour chosen by path.
let mode: 'ok' | 'hang' | 'drip' | 'die' = 'ok';
const bad = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (mode === 'hang') return; // never answers
    if (mode === 'die') return void res.socket?.destroy();
    if (mode === 'drip') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let n = 0;
      const timer = setInterval(() => {
        res.write(
          `event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":${++n}}}\n\n`,
        );
        if (n === 5) {
          clearInterval(timer);
          res.end('event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n');
        }
      }, 150);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":1,"result":{}}');
  });
});
await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
t.teardown(() => {
  bad.closeAllConnections();
  bad.close();
});
const badUrl = `http://127.0.0.1:${(bad.address() as AddressInfo).port}/mcp`;

const idpPort = await freePort();
const proxyPort = await freePort();
const publicUrl = `http://127.0.0.1:${proxyPort}`;
const idpClients = [
  {
    client_id: 'faults',
    client_secret: 'faults-secret-123',
    redirect_uris: [`${publicUrl}/oauth/callback`],
    grant_types: ['authorization_code', 'refresh_token'],
  },
];
let idp = await startStandaloneIdp({ port: idpPort, consent: false, clients: idpClients });
t.teardown(() => idp.close());
const doc = {
  server: { port: proxyPort, publicUrl },
  oidc: { issuer: idp.issuer, clientId: 'faults', clientSecret: 'faults-secret-123' },
  apiKeys: [{ name: 'k', sha256: createHash('sha256').update(KEY).digest('hex'), subject: 'robot' }],
  backends: [
    { name: 'bad', http: { url: badUrl, timeout: '1s' } },
    { name: 'good', http: { url: badUrl } },
  ],
};
let proxy = await startProxy(doc);
t.teardown(() => proxy.close());

t.test('a backend that hangs: 504 after its timeout, and the proxy answers others meanwhile', async (t) => {
  mode = 'hang';
  const started = Date.now();
  const pending = call(`${publicUrl}/mcp/bad`);
  const health = await fetch(`${publicUrl}/healthz`);
  t.equal(health.status, 200, 'the proxy stays responsive');
  t.ok(Date.now() - started < 900, 'answered before the hung call times out');
  const res = await pending;
  t.equal(res.status, 504);
  t.match(await res.text(), /did not answer in time/);
  t.ok(Date.now() - started < 5000, 'bounded by the backend timeout');
  mode = 'ok';
});

t.test('a slow-drip SSE answer streams through as it comes, not buffered', async (t) => {
  mode = 'drip';
  const started = Date.now();
  const res = await call(`${publicUrl}/mcp/good`);
  t.match(res.headers.get('content-type'), /text\/event-stream/);
  const reader = res.body!.getReader();
  const first = await reader.read();
  const firstAt = Date.now() - started;
  t.match(new TextDecoder().decode(first.value), /"progress":1/, 'the first event');
  t.ok(firstAt < 600, `arrived before the stream ended (${firstAt} ms; the stream takes ~750 ms)`);
  let rest = '';
  for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
  t.match(rest, /"id":1/, 'and the final answer');
  mode = 'ok';
});

t.test('a backend that dies mid-call: 502, and the next call works', async (t) => {
  mode = 'die';
  const res = await call(`${publicUrl}/mcp/good`);
  t.equal(res.status, 502);
  t.match(await res.text(), /backend \\"good\\" is unavailable/);
  mode = 'ok';
  const next = await call(`${publicUrl}/mcp/good`);
  t.equal(next.status, 200);
  await next.text();
});

t.test('IdP down: sessions and API keys keep working', async (t) => {
  const { cookie } = await loginThroughProxy(publicUrl, 'alice');
  await idp.close();
  const status = (await (await fetch(`${publicUrl}/oauth/status`, { headers: { cookie } })).json()) as {
    user?: { sub: string };
  };
  t.equal(status.user?.sub, 'alice', 'the browser session still works');
  const mcp = await call(`${publicUrl}/mcp/good`);
  t.equal(mcp.status, 200, 'API keys still work');
  await mcp.text();
  const ready = (await (await fetch(`${publicUrl}/readyz`)).json()) as { idp: { ok: boolean } };
  t.equal(ready.idp.ok, true, 'discovery was done earlier: the IdP is known (its outage shows at the next login)');
  const login = await fetch(`${publicUrl}/oauth/login`, { redirect: 'manual', headers: { accept: 'text/html' } });
  t.equal(login.status, 302, 'the redirect to the IdP needs no call to it');
  await login.text();
});

t.test('an IdP unreachable from the start: the login page says so, readiness reports it', async (t) => {
  const dead = await freePort();
  const other = await startProxy({
    ...doc,
    server: { port: await freePort() },
    oidc: { ...doc.oidc, issuer: `http://127.0.0.1:${dead}/oauth2/default` },
  });
  t.teardown(() => other.close());
  const login = await fetch(`${other.url}/oauth/login`, { redirect: 'manual', headers: { accept: 'text/html' } });
  t.equal(login.status, 502);
  t.match(login.headers.get('content-type'), /text\/html/);
  t.match(await login.text(), /identity provider is unavailable/);
  const ready = (await (await fetch(`${other.url}/readyz`)).json()) as { ready: boolean; idp: { ok: boolean } };
  t.equal(ready.idp.ok, false);
  t.equal(
    ready.ready,
    true,
    'readiness itself stays up (README, Endpoints): the proxy still serves API keys and tokens',
  );
});

t.test('a failing IdP is not asked again by every login: its discovery failure is remembered (backoff)', async (t) => {
  const failing = await countingHttpServer((_req, res) => res.writeHead(503).end());
  const other = await startProxy({
    ...doc,
    server: { port: await freePort() },
    oidc: { ...doc.oidc, issuer: `${failing.url}/oauth2/default` },
  });
  t.teardown(async () => {
    await other.close();
    await failing.close();
  });
  for (let i = 0; i < 10; i += 1) {
    const login = await fetch(`${other.url}/oauth/login`, { redirect: 'manual', headers: { accept: 'text/html' } });
    t.equal(login.status, 502, `login ${i + 1}: the identity provider is unavailable, as before`);
    await login.text();
  }
  t.equal(failing.requests, 1, '10 logins, one discovery request');
});

t.test('the IdP comes back with new signing keys: logins work again (JWKS refetched)', async (t) => {
  const before = await loginThroughProxy(publicUrl, 'bob').catch(() => undefined);
  t.equal(before, undefined, 'no login while the IdP is down');
  idp = await startStandaloneIdp({ port: idpPort, consent: false, clients: idpClients });
  const { cookie } = await loginThroughProxy(publicUrl, 'bob');
  const status = (await (await fetch(`${publicUrl}/oauth/status`, { headers: { cookie } })).json()) as {
    user?: { sub: string };
  };
  t.equal(status.user?.sub, 'bob', 'an ID token signed with the new key is accepted');
});

t.test(
  'proxy restart with the memory store: earlier browser sessions are refused (their records are gone), a new ' +
    'login works',
  async (t) => {
    const { cookie } = await loginThroughProxy(publicUrl, 'alice');
    proxy = await restartProxy(proxy, doc);
    const status = (await (await fetch(`${publicUrl}/oauth/status`, { headers: { cookie } })).json()) as {
      authenticated: boolean;
    };
    t.equal(status.authenticated, false, 'the cookie from before the restart is no session');
    const again = await loginThroughProxy(publicUrl, 'alice');
    const fresh = (await (await fetch(`${publicUrl}/oauth/status`, { headers: { cookie: again.cookie } })).json()) as {
      user?: { sub: string };
    };
    t.equal(fresh.user?.sub, 'alice', 'logging in again works');
  },
);
