/**
 * Security state fails closed when it is lost: a JWT is valid only while its grant exists in
 * the store, a browser session only while its server-side record does. A restart with the
 * memory store therefore refuses every earlier token and cookie (a revoked grant and a
 * logged-out cookie do not come back); Redis losing its data does the same.
 */
import t, { type Test } from 'tap';
import { Redis } from 'ioredis';
import { startDemoHttpServer } from '../../examples/demo-http-server.mjs';
import { startRedis } from '../helpers/db-servers.js';
import { codeFlowTokens, register } from '../helpers/oauth-manual.js';
import { freePort } from '../helpers/ports.js';
import { restartProxy, startProxy } from '../helpers/proxy.js';
import { INITIALIZE, loginThroughProxy, logoutThroughProxy, sessionStatus } from '../helpers/session-client.js';
import { CLIENT_ID, CLIENT_SECRET, signingKeyFile, startIdpFor } from '../helpers/stack.js';

const keyFile = await signingKeyFile();
const REDIRECT = 'http://127.0.0.1:33418/callback';

/** One proxy (restartable on the same port and signing key) in front of a real IdP and backend. */
async function setup(t: Test, store: Record<string, unknown>) {
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
    signing: { keyFile },
    store,
  };
  let proxy = await startProxy(doc);
  t.teardown(() => proxy.close());
  const resource = `${publicUrl}/mcp/demo`;
  const tokens = async (user: string) => {
    const { meta, client } = await register(publicUrl, REDIRECT);
    const body = (
      await codeFlowTokens(meta, {
        clientId: client.client_id,
        redirect: REDIRECT,
        resource,
        scope: 'mcp offline_access',
        user,
      })
    ).body;
    return {
      access_token: body.access_token,
      refresh_token: body.refresh_token,
      client_id: client.client_id,
      revocation_endpoint: meta.revocation_endpoint!,
    };
  };
  const mcpStatus = async (token: string) => {
    const res = await fetch(resource, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: INITIALIZE,
    });
    await res.body?.cancel();
    return res.status;
  };
  const revoke = async (tok: { refresh_token?: string; client_id: string; revocation_endpoint: string }) => {
    const res = await fetch(tok.revocation_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tok.refresh_token!, client_id: tok.client_id }),
    });
    t.equal(res.status, 200, 'grant revoked');
  };
  const restart = async () => {
    proxy = await restartProxy(proxy, doc);
  };
  return { publicUrl, tokens, mcpStatus, revoke, restart };
}

/** A revoked grant, a live grant, a logged-out cookie and a live cookie, all checked before the state goes. */
async function before(t: Test, s: Awaited<ReturnType<typeof setup>>) {
  const revoked = await s.tokens('alice');
  const live = await s.tokens('bob');
  await s.revoke(revoked);
  t.equal(await s.mcpStatus(revoked.access_token!), 401, 'the revoked grant is refused');
  t.equal(await s.mcpStatus(live.access_token!), 200, 'the live grant is accepted');
  const gone = await loginThroughProxy(s.publicUrl, 'alice');
  const out = await logoutThroughProxy(s.publicUrl, gone.cookie);
  t.equal(out.status, 200);
  await out.body?.cancel();
  t.equal((await sessionStatus(s.publicUrl, gone.cookie)).authenticated, false, 'the logged-out cookie is refused');
  const kept = await loginThroughProxy(s.publicUrl, 'bob');
  t.equal((await sessionStatus(s.publicUrl, kept.cookie)).user?.sub, 'bob');
  return { revoked, live, gone, kept };
}

t.test('memory store: after a restart every earlier token and cookie is refused', async (t) => {
  const s = await setup(t, { kind: 'memory' });
  const b = await before(t, s);
  await s.restart();
  t.equal(
    await s.mcpStatus(b.revoked.access_token!),
    401,
    'the revoked grant stays refused (its signature still verifies)',
  );
  t.equal(
    (await sessionStatus(s.publicUrl, b.gone.cookie)).authenticated,
    false,
    'the logged-out cookie stays refused',
  );
  t.equal(await s.mcpStatus(b.live.access_token!), 401, 'a grant the restart forgot is refused too');
  t.equal(
    (await sessionStatus(s.publicUrl, b.kept.cookie)).authenticated,
    false,
    'and so is a session the restart forgot',
  );
  const again = await s.tokens('bob');
  t.equal(await s.mcpStatus(again.access_token!), 200, 'a new authorization works');
});

t.test('Redis losing its data: revoked grants and logged-out cookies do not come back', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const s = await setup(t, { kind: 'redis', url: redis.url });
  const b = await before(t, s);
  const admin = new Redis(redis.url);
  await admin.flushall();
  admin.disconnect();
  await s.restart();
  t.equal(await s.mcpStatus(b.revoked.access_token!), 401, 'the revoked grant stays refused');
  t.equal(
    (await sessionStatus(s.publicUrl, b.gone.cookie)).authenticated,
    false,
    'the logged-out cookie stays refused',
  );
  t.equal(await s.mcpStatus(b.live.access_token!), 401, 'a grant Redis lost is refused');
  t.equal((await sessionStatus(s.publicUrl, b.kept.cookie)).authenticated, false, 'a session Redis lost is refused');
});
