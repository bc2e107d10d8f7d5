/**
 * State replicas share through Redis: two proxies (A and B) with one store and one signing
 * key. A rate limit counts calls on both against one budget; a grant revoked on A is refused
 * on B (within the 5 s re-check); an HTTP backend's session created through A keeps its
 * owner on B.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { startDemoHttpServer } from '../../examples/demo-http-server.mjs';
import { startRedis } from '../helpers/db-servers.js';
import { codeFlowTokens, register } from '../helpers/oauth-manual.js';
import { freePort } from '../helpers/ports.js';
import { startProxy } from '../helpers/proxy.js';
import { CLIENT_ID, CLIENT_SECRET, signingKeyFile, startIdpFor } from '../helpers/stack.js';

const redis = await startRedis();
t.teardown(() => redis.close());
const keyFile = await signingKeyFile();
const [portA, portB] = [await freePort(), await freePort()];
const publicUrl = `http://127.0.0.1:${portA}`;
const idp = await startIdpFor(publicUrl);
t.teardown(() => idp.close());
const backend = await startDemoHttpServer({ jwksUrl: `${publicUrl}/.well-known/jwks.json`, issuer: publicUrl });
t.teardown(() => backend.close());

const KEY = 'shared-state-key';
const doc = (port: number) => ({
  server: { port, publicUrl },
  oidc: { issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
  store: { kind: 'redis', url: redis.url },
  signing: { keyFile },
  apiKeys: [{ name: 'ci', sha256: createHash('sha256').update(KEY).digest('hex'), subject: 'ci-bot' }],
  backends: [
    { name: 'demo', http: { url: backend.url } },
    { name: 'limited', http: { url: backend.url }, rateLimit: { max: 3, window: '1m' } },
  ],
});
const a = await startProxy(doc(portA));
const b = await startProxy(doc(portB));
t.teardown(() => Promise.all([a.close(), b.close()]));
const urlB = `http://127.0.0.1:${portB}`;

const rpc = (base: string, path: string, headers: Record<string, string>, body: unknown) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
const INIT = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
};

t.test('one rate-limit budget across replicas', async (t) => {
  const statuses: number[] = [];
  for (const base of [publicUrl, urlB, publicUrl, urlB]) {
    const res = await rpc(base, '/mcp/limited', { 'x-api-key': KEY }, INIT);
    statuses.push(res.status);
    await res.text();
  }
  t.same(statuses, [200, 200, 200, 429], 'the 4th call (on B) exceeds the budget of 3 shared with A');
});

t.test('an HTTP backend session made through A keeps its owner on B', async (t) => {
  const init = await rpc(publicUrl, '/mcp/demo', { 'x-api-key': KEY }, INIT);
  const sid = init.headers.get('mcp-session-id')!;
  await init.text();
  t.ok(sid);
  const { meta, client } = await register(publicUrl);
  const resource = `${publicUrl}/mcp/demo`;
  const tok = await codeFlowTokens(meta, {
    clientId: client.client_id,
    redirect: 'http://127.0.0.1:33418/callback',
    resource,
    user: 'bob',
  });
  const foreign = await rpc(
    urlB,
    '/mcp/demo',
    { authorization: `Bearer ${tok.body.access_token}`, 'mcp-session-id': sid },
    { jsonrpc: '2.0', id: 1, method: 'ping' },
  );
  t.equal(foreign.status, 404, "bob cannot use the API key's session on B");
  await foreign.text();
  const own = await rpc(
    urlB,
    '/mcp/demo',
    { 'x-api-key': KEY, 'mcp-session-id': sid },
    { jsonrpc: '2.0', id: 1, method: 'ping' },
  );
  t.equal(own.status, 200, 'its owner can, on B');
  await own.text();
});

t.test('a grant revoked on A is refused on B', async (t) => {
  const redirect = 'http://127.0.0.1:33418/callback';
  const { meta, client } = await register(publicUrl, redirect);
  const resource = `${publicUrl}/mcp/demo`;
  const tok = await codeFlowTokens(meta, {
    clientId: client.client_id,
    redirect: redirect,
    resource,
    scope: 'mcp offline_access',
  });
  const bearer = { authorization: `Bearer ${tok.body.access_token}` };
  const before = await rpc(urlB, '/mcp/demo', bearer, INIT);
  t.equal(before.status, 200, 'B accepts the token (verified once, cached)');
  await before.text();
  const rev = await fetch(meta.revocation_endpoint!, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: tok.body.refresh_token!, client_id: client.client_id }),
  });
  t.equal(rev.status, 200, 'revoked at A');
  const started = Date.now();
  let status = 0;
  while (Date.now() - started < 8000) {
    const res = await rpc(urlB, '/mcp/demo', bearer, INIT);
    status = res.status;
    await res.text();
    if (status === 401) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  t.equal(status, 401, 'B refuses the revoked grant');
  t.ok(Date.now() - started < 6500, `within the re-check interval (${Date.now() - started} ms)`);
});
