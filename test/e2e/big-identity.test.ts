// A user whose identity would not fit a cookie gets a clear error, not a silently broken session.
import t from 'tap';
import { startStandaloneIdp } from '../../src/devidp/plugin.js';
import { freePort } from '../helpers/ports.js';
import { startProxy } from '../helpers/proxy.js';
import { loginThroughProxy } from '../helpers/session-client.js';

const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const groups = Array.from({ length: 300 }, (_, i) => `engineering-department-group-${i}`);
const idp = await startStandaloneIdp({
  consent: false,
  users: [
    { username: 'carol', password: 'carol', email: 'carol@example.com', groups },
    { username: 'dave', password: 'dave', groups: ['g'] },
  ],
  clients: [
    {
      client_id: 'c',
      client_secret: 'secret-secret',
      redirect_uris: [`${url}/oauth/callback`],
      grant_types: ['authorization_code', 'refresh_token'],
    },
  ],
});
const proxy = await startProxy({
  server: { port },
  oidc: { issuer: idp.issuer, clientId: 'c', clientSecret: 'secret-secret' },
  backends: [{ name: 'a', http: { url: 'http://127.0.0.1:9/mcp' } }],
});
t.teardown(async () => {
  await proxy.close();
  await idp.close();
});

t.test('300 groups: login refused with a clear message, and logged', async (t) => {
  const { result, cookie } = await loginThroughProxy(url, 'carol');
  t.equal(result.response.status, 400);
  t.match(result.body ?? (await result.response.text()), /too large for a session cookie/);
  t.notMatch(cookie, /mcp_proxy_session=[^;]/, 'no session cookie');
  t.ok(proxy.logs().some((l) => l.event === 'login.cookie_too_large'));
});

t.test('a normal identity still logs in', async (t) => {
  const { cookie } = await loginThroughProxy(url, 'dave');
  const status = (await (await fetch(`${url}/oauth/status`, { headers: { cookie } })).json()) as any;
  t.equal(status.authenticated, true);
});
