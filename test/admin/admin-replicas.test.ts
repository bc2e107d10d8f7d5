/**
 * Admin revocations reach every replica: two proxies (R1, R2) on one real Redis. A client deleted
 * on R1 has its token refused on R2 — which had confirmed its grant — within 5 s; a browser session
 * ended on R1 is refused on R2 at its next request. The listing on R2 shows what R1 recorded.
 */
import t from 'tap';
import { startRedis } from '../helpers/db-servers.js';
import { codeFlowTokens, register } from '../helpers/oauth-manual.js';
import { startProxy } from '../helpers/proxy.js';
import { INITIALIZE, loginThroughProxy, MCP_ACCEPT, sessionStatus } from '../helpers/session-client.js';
import { redisReplicaPair } from '../helpers/stack.js';
import { stdioBackend } from '../helpers/stdio-stack.js';
import { hashApiKey } from '../../src/tokens/apikeys.js';

const KEY = 'ops-key-0123456789abcdef0123456789';
const redis = await startRedis();
t.teardown(() => redis.close());
const { idp, publicUrl, ports, doc } = await redisReplicaPair(redis.url, [stdioBackend('legacy', 'user')]);
t.teardown(() => idp.close());
const withAdmin = (port: number) => ({
  ...doc(port),
  admin: { groups: ['admin'] },
  apiKeys: [{ name: 'ops', sha256: hashApiKey(KEY), subject: 'svc:ops', groups: ['admin'] }],
});
const r1 = await startProxy(withAdmin(ports[0]));
const r2 = await startProxy(withAdmin(ports[1]));
t.teardown(() => Promise.all([r1.close(), r2.close()]));
const r2Url = `http://127.0.0.1:${ports[1]}`;
const REDIRECT = 'http://127.0.0.1:33418/callback';

const statusOnR2 = async (token: string) => {
  const res = await fetch(`${r2Url}/mcp/legacy`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: MCP_ACCEPT },
    body: INITIALIZE,
  });
  await res.arrayBuffer();
  return res.status;
};

t.test('a client deleted on R1: its token refused on R2 within 5 s', async (t) => {
  const { meta, client } = await register(publicUrl, REDIRECT);
  const tokens = await codeFlowTokens(meta, {
    clientId: client.client_id,
    redirect: REDIRECT,
    resource: `${publicUrl}/mcp/legacy`,
    user: 'bob',
  });
  t.equal(tokens.status, 200);
  const token = tokens.body.access_token!;
  t.equal(await statusOnR2(token), 200, 'R2 accepts the token (and confirms its grant)');
  const listed = (await (await fetch(`${r2Url}/admin/api/clients`, { headers: { 'x-api-key': KEY } })).json()) as {
    clients: Array<{ id: string }>;
  };
  t.ok(
    listed.clients.some((c) => c.id === client.client_id),
    'R2 lists the client R1 registered',
  );
  const res = await fetch(`${publicUrl}/admin/api/clients/${client.client_id}`, {
    method: 'DELETE',
    headers: { 'x-api-key': KEY },
  });
  t.equal(res.status, 200, 'deleted on R1');
  await res.arrayBuffer();
  const start = Date.now();
  let status = 0;
  while (Date.now() - start < 5000 && (status = await statusOnR2(token)) !== 401)
    await new Promise((r) => setImmediate(r));
  t.equal(status, 401, `R2 refuses the token (${Date.now() - start} ms)`);
  t.ok(Date.now() - start < 5000, 'within 5 s');
});

t.test('a session ended on R1 is refused on R2', async (t) => {
  const bob = await loginThroughProxy(publicUrl, 'bob');
  t.equal((await sessionStatus(r2Url, bob.cookie)).authenticated, true, 'R2 confirmed the session');
  const sessions = (await (
    await fetch(`${r2Url}/admin/api/sessions?user=bob`, { headers: { 'x-api-key': KEY } })
  ).json()) as { sessions: Array<{ id: string }> };
  t.ok(sessions.sessions.length >= 1, 'listed on R2');
  for (const s of sessions.sessions) {
    const res = await fetch(`${publicUrl}/admin/api/sessions/${s.id}`, {
      method: 'DELETE',
      headers: { 'x-api-key': KEY },
    });
    t.equal(res.status, 200, 'ended on R1');
    await res.arrayBuffer();
  }
  // R2 hears of it by the store's announcement; at worst it re-reads the record after 5 s.
  const start = Date.now();
  let authenticated = true;
  while (Date.now() - start < 5000 && (authenticated = (await sessionStatus(r2Url, bob.cookie)).authenticated))
    await new Promise((r) => setImmediate(r));
  t.equal(authenticated, false, `R2 refuses the cookie (${Date.now() - start} ms)`);
});
