/**
 * An IdP behind a private CA (DESIGN.md §13): oidc-provider over HTTPS with a certificate from a
 * test CA. Without `tls.ca` the proxy cannot discover it and says why in the log (unknown CA);
 * with `tls.ca` discovery, the code exchange and the ID token's keys all go through, and a
 * browser login completes.
 */
import t from 'tap';
import { Agent, fetch as undiciFetch } from 'undici';
import { CLIENT_ID, CLIENT_SECRET, startIdpFor } from '../helpers/stack.js';
import { CookieJar, headlessLogin } from '../helpers/login.js';
import { freePort } from '../helpers/ports.js';
import { startProxy } from '../helpers/proxy.js';
import { makeTestCa } from '../helpers/test-ca.js';

const pki = makeTestCa();
const idpCert = pki.issue('127.0.0.1', { san: 'IP:127.0.0.1' });
const port = await freePort();
const publicUrl = `http://127.0.0.1:${port}`;
const idp = await startIdpFor(publicUrl, { tls: { key: idpCert.key, cert: idpCert.cert } });
t.teardown(() => idp.close());
t.match(idp.issuer, /^https:\/\/127\.0\.0\.1:\d+\//);

const doc = (extra: Record<string, unknown>) => ({
  oidc: { issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
  backends: [{ name: 'demo', http: { url: 'http://127.0.0.1:9/mcp' } }],
  ...extra,
});

// The browser trusts the test CA (it talks to the IdP directly).
const browserAgent = new Agent({ connect: { ca: pki.ca } });
t.teardown(() => browserAgent.close());
const browserFetch = ((input: string | URL, init?: RequestInit) =>
  undiciFetch(input as string, { ...(init as object), dispatcher: browserAgent } as never)) as unknown as typeof fetch;

t.test('without tls.ca: login is refused, the log says the CA is unknown', async (t) => {
  const proxy = await startProxy(doc({}));
  t.teardown(() => proxy.close());
  const res = await fetch(`${proxy.url}/oauth/login`, { redirect: 'manual', headers: { accept: 'application/json' } });
  t.equal(res.status, 502);
  t.equal(((await res.json()) as { error: { code: string } }).error.code, 'IDP_UNAVAILABLE');
  const line = proxy.logs().find((l) => l.code === 'IDP_UNAVAILABLE');
  t.match(line?.reason, /^discovery at https:\/\/127\.0\.0\.1:\d+\/\S+: TLS: unknown CA: /, 'the TLS reason logged');
});

t.test('with tls.ca: discovery, login and the ID token check go through', async (t) => {
  const proxy = await startProxy(doc({ server: { port, publicUrl }, tls: { ca: pki.caFile } }));
  t.teardown(() => proxy.close());
  const jar = new CookieJar();
  await headlessLogin({
    startUrl: `${proxy.url}/oauth/login`,
    username: 'alice',
    password: 'alice',
    jar,
    fetch: browserFetch,
  });
  const cookie = jar.header(`${proxy.url}/`)!;
  const status = (await (await fetch(`${proxy.url}/oauth/status`, { headers: { cookie } })).json()) as {
    authenticated: boolean;
    user?: { sub: string };
  };
  t.equal(status.authenticated, true);
  t.equal(status.user?.sub, 'alice');
});
