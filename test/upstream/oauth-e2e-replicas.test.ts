// `upstream: {kind: oauth}` on two replicas sharing a real Redis and one signing key: alice
// connects through replica 1; her SDK client on replica 2 initializes and the backend sees her
// (the connection is in the shared store); a DELETE on replica 2 is seen on replica 1.
import t from 'tap';
import { startOAuthBackend } from '../helpers/backend-as.js';
import { startRedis } from '../helpers/db-servers.js';
import {
  authorizeSdk,
  connectHeadless,
  disconnect,
  elicitationOf,
  GH,
  ghBackend,
  ghConnected,
  ghWhoami,
  sdkConnect,
} from '../helpers/oauth-upstream.js';
import { startProxy } from '../helpers/proxy.js';
import { redisReplicaPair } from '../helpers/stack.js';

t.test('connect on replica 1, use on replica 2', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const gh = await startOAuthBackend();
  t.teardown(() => gh.close());
  const { idp, publicUrl, ports, doc } = await redisReplicaPair(redis.url, [ghBackend(gh.mcp.url)]);
  const [port1, port2] = ports;
  t.teardown(() => idp.close());
  const r1 = await startProxy(doc(port1));
  const r2 = await startProxy(doc(port2));
  t.teardown(() => Promise.all([r1.close(), r2.close()]));
  const onR1 = `${publicUrl}/mcp/${GH}`;
  const onR2 = `http://127.0.0.1:${port2}/mcp/${GH}`;

  const alice = await authorizeSdk(onR1, 'alice');
  const e = await elicitationOf(t, sdkConnect(onR1, alice.provider));
  const done = await connectHeadless(e.url, 'alice', alice.jar);
  t.equal(done.finalUrl, `${publicUrl}/`, 'connected through replica 1');
  t.equal(gh.as.counters.registrations.length, 1, 'one client registration at the backend AS');

  // The token names the resource at publicUrl (replica 1's origin); replica 2 serves the same path.
  const client = await sdkConnect(onR2, alice.provider);
  t.teardown(() => client.close());
  t.equal((await ghWhoami(client)).sub, 'alice', 'replica 2 uses the connection made on replica 1');
  t.equal(gh.as.counters.registrations.length, 1, 'replica 2 reused the registration in the store');

  const cookie = alice.jar.header(`${publicUrl}/`)!;
  const del = await disconnect(`http://127.0.0.1:${port2}`, cookie, GH, publicUrl);
  t.equal(del.status, 200, 'DELETE on replica 2');
  await del.body?.cancel();
  t.equal(await ghConnected(publicUrl, cookie), false, 'replica 1 sees it gone');
  await elicitationOf(t, ghWhoami(client));
});
