/**
 * The memory store is bounded, but what anonymous clients can write (registered clients,
 * interactions, device codes) lives in a space of its own: a flood of registrations through
 * the real `/reg` cannot evict sessions, grants, refresh tokens or the end of a session. The
 * store is made small here (150 entries per space) so the flood stays quick.
 */
import t from 'tap';
import { MemoryStore } from '../../src/store/memory.js';
import { codeFlowTokens, register } from '../helpers/oauth-manual.js';
import { INITIALIZE, loginThroughProxy, logoutThroughProxy, sessionStatus } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';

const CAP = 150;
const store = new MemoryStore(CAP);
const stack = await startStack({ consent: false, deps: { store } });
t.teardown(() => stack.close());
const { proxy } = stack;
const REDIRECT = 'http://127.0.0.1:33418/callback';
const resource = `${proxy.url}/mcp/demo`;

t.test('a registration flood evicts no session, grant, refresh token or logout', async (t) => {
  const alice = await loginThroughProxy(proxy.url, 'alice');
  const bob = await loginThroughProxy(proxy.url, 'bob');
  const out = await logoutThroughProxy(proxy.url, bob.cookie);
  t.equal(out.status, 200);
  await out.body?.cancel();
  t.equal(
    (await sessionStatus(proxy.url, bob.cookie)).authenticated,
    false,
    "bob's copied cookie is refused after his logout",
  );
  const { meta, client } = await register(proxy.url, REDIRECT);
  const tok = (
    await codeFlowTokens(meta, {
      clientId: client.client_id,
      redirect: REDIRECT,
      resource,
      scope: 'mcp offline_access',
      user: 'alice',
    })
  ).body;
  t.ok(tok.refresh_token, 'alice has a refresh token');

  let created = 0;
  for (let i = 0; i < CAP * 2; i++) {
    const res = await fetch(meta.registration_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: `flood-${i}`,
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: 'none',
      }),
    });
    if (res.status === 201) created++;
    await res.body?.cancel();
  }
  t.equal(created, CAP * 2, `${CAP * 2} anonymous registrations, twice the store's size`);

  t.equal((await sessionStatus(proxy.url, alice.cookie)).user?.sub, 'alice', "alice's browser session survives");
  t.equal(
    (await sessionStatus(proxy.url, bob.cookie)).authenticated,
    false,
    "bob's logged-out cookie is still refused",
  );
  // Registered clients share the flooded space (a client evicted there registers again); what it was granted does not.
  t.ok(await store.get(`as:RefreshToken:${tok.refresh_token}`), "alice's refresh token is still stored");
  const res = await fetch(resource, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${tok.access_token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: INITIALIZE,
  });
  t.equal(res.status, 200, 'and her access token, first used now, is accepted: the grant survived');
  await res.body?.cancel();
});
