/**
 * A logout made on one replica reaches what the user holds on the others: two proxies (R1,
 * R2) sharing a real Redis and one signing key. Logging out on R1 cuts the GET stream the
 * session holds on R2; logging out everywhere on R1 also ends the user's stdio process on R2;
 * revoking an MCP client's grant on R1 cuts the stream its token holds on R2.
 */
import t from 'tap';
import { startRedis } from '../helpers/db-servers.js';
import { startProxy } from '../helpers/proxy.js';
import { loginThroughProxy, logoutThroughProxy, sessionStatus } from '../helpers/session-client.js';
import { redisReplicaPair } from '../helpers/stack.js';
import { codeFlowTokens, register } from '../helpers/oauth-manual.js';
import { connect, openStream, stdioBackend, stdioOf, whoami, within } from '../helpers/stdio-stack.js';

const redis = await startRedis();
t.teardown(() => redis.close());
const { idp, publicUrl, ports, doc } = await redisReplicaPair(redis.url, [stdioBackend('legacy', 'user')]);
const [port1, port2] = ports;
t.teardown(() => idp.close());
const r1 = await startProxy(doc(port1));
const r2 = await startProxy(doc(port2));
t.teardown(() => Promise.all([r1.close(), r2.close()]));
const legacyOnR2 = `http://127.0.0.1:${port2}/mcp/legacy`;

t.test('a logout on R1 cuts the GET stream the session holds on R2', async (t) => {
  const alice = await loginThroughProxy(publicUrl, 'alice');
  const stream = await openStream(legacyOnR2, alice.cookie);
  t.equal(stream.status, 200, 'a GET stream is open on R2');
  const out = await logoutThroughProxy(publicUrl, alice.cookie);
  t.equal(out.status, 200, 'logged out on R1');
  await out.body?.cancel();
  t.equal(await within(stream.ended, 5000), true, 'R2 cut the stream');
  t.equal(
    (await sessionStatus(`http://127.0.0.1:${port2}`, alice.cookie)).authenticated,
    false,
    'and refuses the cookie',
  );
});

t.test('log out everywhere on R1 ends the stdio process and streams the user has on R2', async (t) => {
  const alice = await loginThroughProxy(publicUrl, 'alice');
  const bob = await loginThroughProxy(publicUrl, 'bob');
  const session = await connect(legacyOnR2, alice.cookie);
  t.equal((await whoami(session.client)).meta.sub, 'alice', "alice's stdio session runs on R2");
  const bobSession = await connect(legacyOnR2, bob.cookie);
  t.equal((await whoami(bobSession.client)).meta.sub, 'bob');
  const stream = await openStream(legacyOnR2, alice.cookie);
  t.equal(stream.status, 200);
  t.equal(stdioOf('alice').length, 1, "alice's process runs");
  const out = await logoutThroughProxy(publicUrl, alice.cookie, { everywhere: true });
  t.equal(out.status, 200, 'logged out everywhere on R1');
  await out.body?.cancel();
  t.equal(await within(stream.ended, 5000), true, 'R2 cut the stream');
  for (let i = 0; i < 50 && stdioOf('alice').length; i++) await new Promise((r) => setTimeout(r, 100));
  t.same(stdioOf('alice'), [], "R2 ended alice's stdio process");
  t.equal((await whoami(bobSession.client)).meta.sub, 'bob', "bob's session on R2 is untouched");
  await bobSession.client.close();
  await session.client.close().catch(() => undefined);
});

t.test('a grant revoked on R1 cuts the stream its access token holds on R2', async (t) => {
  const redirect = 'http://127.0.0.1:33418/callback';
  const resource = `${publicUrl}/mcp/legacy`;
  const { meta, client } = await register(publicUrl, redirect);
  const tok = (
    await codeFlowTokens(meta, {
      clientId: client.client_id,
      redirect: redirect,
      resource,
      scope: 'mcp offline_access',
      user: 'bob',
    })
  ).body;
  // The token names the resource at publicUrl (R1's origin); R2 serves the same path.
  const stream = await openStream(`http://127.0.0.1:${port2}/mcp/legacy`, {
    authorization: `Bearer ${tok.access_token}`,
  });
  t.equal(stream.status, 200, "the MCP client's GET stream is open on R2");
  const rev = await fetch(meta.revocation_endpoint!, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: tok.refresh_token!, client_id: client.client_id }),
  });
  t.equal(rev.status, 200, 'revoked on R1');
  t.equal(await within(stream.ended, 5000), true, 'R2 cut the stream');
});
