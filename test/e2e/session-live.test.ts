/**
 * A browser session follows the live configuration and its own activity: after a reload that
 * changes `tenants`, a logged-in user (and the tokens their MCP client refreshes) get the new
 * tenant; a short `session.idleTimeout` does not end a session that keeps being used.
 */
import t from 'tap';
import { decodeJwt } from 'jose';
import { codeFlowTokens, register, tokenRequest } from '../helpers/oauth-manual.js';
import { TEST_SESSION_KEY } from '../helpers/proxy.js';
import { loginThroughProxy, sessionStatus } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';

const IDLE_MS = 3000;
const stack = await startStack({
  consent: false,
  proxy: {
    session: { keys: [TEST_SESSION_KEY], idleTimeout: `${IDLE_MS}ms` },
    tenants: { domains: { 'example.com': 'acme' } },
  },
});
t.teardown(() => stack.close());
const { proxy } = stack;
const REDIRECT = 'http://127.0.0.1:33418/callback';
const resource = `${proxy.url}/mcp/demo`;

t.test('a reload of tenants reaches users already logged in and refreshed tokens', async (t) => {
  const alice = await loginThroughProxy(proxy.url, 'alice');
  t.equal((await sessionStatus(proxy.url, alice.cookie)).user?.tenant, 'acme');
  const { meta, client } = await register(proxy.url, REDIRECT);
  const tok = (
    await codeFlowTokens(meta, {
      clientId: client.client_id,
      redirect: REDIRECT,
      resource,
      scope: 'mcp offline_access',
      user: 'alice',
      jar: alice.jar,
    })
  ).body;
  t.equal(decodeJwt(tok.access_token!).tenant, 'acme', 'the access token names the tenant');

  const r = proxy.reload({ ...proxy.config, tenants: { domains: { 'example.com': 'globex' } } });
  t.ok(r.ok, 'reloaded');
  t.equal(
    (await sessionStatus(proxy.url, alice.cookie)).user?.tenant,
    'globex',
    'the logged-in user has the new tenant',
  );
  const refreshed = await tokenRequest(meta, {
    grant_type: 'refresh_token',
    refresh_token: tok.refresh_token!,
    client_id: client.client_id,
    resource,
  });
  t.equal(refreshed.status, 200);
  t.equal(decodeJwt(refreshed.body.access_token!).tenant, 'globex', 'a refreshed access token has the new tenant');
});

t.test('an idleTimeout under a minute does not end a session in use', async (t) => {
  const bob = await loginThroughProxy(proxy.url, 'bob');
  // Time passing is the behaviour under test: a request every third of idleTimeout, for twice idleTimeout.
  for (let waited = 0; waited < IDLE_MS * 2; waited += IDLE_MS / 3) {
    await new Promise((r) => setTimeout(r, IDLE_MS / 3));
    const res = await fetch(`${proxy.url}/oauth/status`, { headers: { cookie: bob.jar.header(`${proxy.url}/`)! } });
    bob.jar.setFromResponse(`${proxy.url}/oauth/status`, res); // the browser keeps the refreshed cookie
    if (!((await res.json()) as { authenticated: boolean }).authenticated)
      return t.fail(`the session expired after ${waited + IDLE_MS / 3} ms of use`);
  }
  t.pass('still logged in after twice idleTimeout of activity');
  await new Promise((r) => setTimeout(r, IDLE_MS + 200));
  t.equal(
    (await sessionStatus(proxy.url, bob.jar.header(`${proxy.url}/`)!)).authenticated,
    false,
    'and idle for longer than idleTimeout, it ends',
  );
});
