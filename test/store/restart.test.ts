/**
 * State that lasts: with `store.kind: redis` (and a signing key from a file, as replicas
 * share it), a restart keeps registered MCP clients, refresh tokens and consent. Then Redis
 * goes away: what the proxy can decide without it (a valid JWT) still works, what needs it
 * (a refresh, recording a new MCP session's owner) fails with a clear error, /readyz says so,
 * and all recovers when Redis is back.
 */
import t from 'tap';
import { startDemoHttpServer } from '../../examples/demo-http-server.mjs';
import { startRedis } from '../helpers/db-servers.js';
import { codeFlowTokens, register, tokenRequest } from '../helpers/oauth-manual.js';
import { freePort } from '../helpers/ports.js';
import { loginThroughProxy } from '../helpers/session-client.js';
import { restartProxy, startProxy } from '../helpers/proxy.js';
import { CLIENT_ID, CLIENT_SECRET, signingKeyFile, startIdpFor } from '../helpers/stack.js';

const redis = await startRedis();
t.teardown(() => redis.close());
const keyFile = await signingKeyFile();

const port = await freePort();
const publicUrl = `http://127.0.0.1:${port}`;
const idp = await startIdpFor(publicUrl);
t.teardown(() => idp.close());
const backend = await startDemoHttpServer({ jwksUrl: `${publicUrl}/.well-known/jwks.json`, issuer: publicUrl });
t.teardown(() => backend.close());
const doc = {
  server: { port, publicUrl },
  oidc: { issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
  backends: [{ name: 'demo', http: { url: backend.url } }],
  store: { kind: 'redis', url: redis.url },
  signing: { keyFile },
};
const REDIRECT = 'http://127.0.0.1:33418/callback';
const resource = `${publicUrl}/mcp/demo`;

const callMcp = (token: string) =>
  fetch(resource, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    }),
  });

let proxy = await startProxy(doc);
const { meta, client } = await register(publicUrl, REDIRECT);
const first = await codeFlowTokens(meta, {
  clientId: client.client_id,
  redirect: REDIRECT,
  resource,
  scope: 'mcp offline_access',
});

t.test('before the restart: a token and a refresh token', async (t) => {
  t.equal(first.status, 200, `token request: ${first.status} ${first.body.error ?? ''}`);
  t.ok(first.body.access_token);
  t.ok(first.body.refresh_token, 'a refresh token was issued');
});

t.test('after a restart: the client, its refresh token and its JWT still work', async (t) => {
  proxy = await restartProxy(proxy, doc);
  const mcp = await callMcp(first.body.access_token!);
  t.equal(mcp.status, 200, 'the access token from before the restart is accepted');
  await mcp.text();
  const refreshed = await tokenRequest(meta, {
    grant_type: 'refresh_token',
    refresh_token: first.body.refresh_token!,
    client_id: client.client_id,
    resource,
  });
  t.equal(refreshed.status, 200, `refresh after restart: ${refreshed.body.error ?? 'ok'}`);
  t.ok(refreshed.body.access_token);
  first.body.refresh_token = refreshed.body.refresh_token ?? first.body.refresh_token;
  const again = await register(publicUrl, REDIRECT);
  t.not(again.client.client_id, client.client_id, 'registration still works');
});

t.test('Redis down: JWTs still work, refresh fails clearly, /readyz says so; then it recovers', async (t) => {
  // A second token, never presented before the outage: this replica has not confirmed its grant.
  const unseen = await codeFlowTokens(meta, { clientId: client.client_id, redirect: REDIRECT, resource });
  t.equal(unseen.status, 200);
  const init = await callMcp(first.body.access_token!);
  const sid = init.headers.get('mcp-session-id')!;
  await init.text();
  const { cookie } = await loginThroughProxy(publicUrl, 'alice');
  await redis.stop();
  const status = (await (await fetch(`${publicUrl}/oauth/status`, { headers: { cookie } })).json()) as {
    user?: { sub: string };
  };
  t.equal(status.user?.sub, 'alice', 'a browser session lives in its cookie: still logged in');
  const ready = (await (await fetch(`${publicUrl}/readyz`)).json()) as { store: { kind: string; ok: boolean } };
  t.same({ kind: ready.store.kind, ok: ready.store.ok }, { kind: 'redis', ok: false });
  const mcp = await fetch(resource, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${first.body.access_token}`,
      'mcp-session-id': sid,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  t.equal(mcp.status, 200, 'a valid JWT on a session this replica knows needs no store');
  await mcp.text();
  const fresh = await callMcp(first.body.access_token!);
  t.equal(fresh.status, 200, 'a new HTTP session needs no store either (its id carries its owner, sealed)');
  await fresh.text();
  const stranger = await callMcp(unseen.body.access_token!);
  t.equal(stranger.status, 503, 'a token whose grant this replica never confirmed fails closed');
  t.match(await stranger.text(), /cannot reach its store/);
  const started = Date.now();
  const refresh = await tokenRequest(meta, {
    grant_type: 'refresh_token',
    refresh_token: first.body.refresh_token!,
    client_id: client.client_id,
    resource,
  });
  t.equal(refresh.status, 503, 'refresh without the store fails closed');
  t.equal(refresh.body.error, 'temporarily_unavailable');
  t.match(refresh.body.error_description, /cannot reach its store/);
  t.ok(Date.now() - started < 10_000, 'and does not hang');

  await redis.start();
  let ok = false;
  for (let i = 0; i < 50 && !ok; i++) {
    await new Promise((r) => setTimeout(r, 200));
    ok = ((await (await fetch(`${publicUrl}/readyz`)).json()) as { store: { ok: boolean } }).store.ok;
  }
  t.ok(ok, '/readyz reports the store back');
  const after = await tokenRequest(meta, {
    grant_type: 'refresh_token',
    refresh_token: first.body.refresh_token!,
    client_id: client.client_id,
    resource,
  });
  t.equal(after.status, 200, `refresh works again: ${after.body.error ?? 'ok'}`);
});

t.teardown(() => proxy.close());
