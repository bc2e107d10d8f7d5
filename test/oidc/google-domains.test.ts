// Google's domain allow-list (`oidc.allowedDomains`), end to end: a real OpenID Provider (the
// dev IdP, oidc-provider) at a Google-like issuer (the bare origin) emits Google's `hd` claim for
// Workspace users; the google preset admits only listed domains and refuses the others with a
// clear error page. The `hd` authorization parameter is sent when exactly one domain is listed.
import t from 'tap';
import { startStandaloneIdp } from '../../src/devidp/plugin.js';
import { freePort } from '../helpers/ports.js';
import { startProxy } from '../helpers/proxy.js';
import { loginThroughProxy } from '../helpers/session-client.js';

const CLIENT_ID = '1234-google-standin.apps.googleusercontent.com';
const CLIENT_SECRET = 'google-client-secret-0123456789';
const users = [
  {
    username: 'alice',
    password: 'alice',
    email: 'alice@example.com',
    name: 'Alice',
    groups: [],
    claims: { hd: 'example.com' },
  },
  {
    username: 'omar',
    password: 'omar',
    email: 'omar@other.example',
    name: 'Omar',
    groups: [],
    claims: { hd: 'other.example' },
  },
  // a consumer account: no hd
  { username: 'gina', password: 'gina', email: 'gina@gmail.example', name: 'Gina', groups: [] },
];

async function stack(t: { teardown(fn: () => Promise<void>): void }, allowedDomains: string[]) {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const idp = await startStandaloneIdp({
    issuerPath: '',
    consent: false,
    users,
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${publicUrl}/oauth/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
  });
  const proxy = await startProxy({
    server: { port, publicUrl },
    oidc: { issuer: idp.issuer, provider: 'google', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, allowedDomains },
    backends: [{ name: 'demo', http: { url: 'http://127.0.0.1:9/mcp' } }],
  });
  t.teardown(async () => {
    await proxy.close();
    await idp.close();
  });
  return proxy;
}
const status = async (url: string, cookie: string) =>
  (await (await fetch(`${url}/oauth/status`, { headers: { cookie } })).json()) as any;

t.test(
  'one allowed domain: hd is sent; a user of that domain logs in, others are refused with an error page',
  async (t) => {
    const proxy = await stack(t, ['example.com']);
    const start = await fetch(`${proxy.url}/oauth/login`, { redirect: 'manual' });
    const auth = new URL(start.headers.get('location')!);
    t.equal(auth.searchParams.get('hd'), 'example.com', 'hd pre-selects the domain');
    t.equal(auth.searchParams.get('scope'), 'openid profile email', "Google's default scopes (no offline_access)");

    const ok = await loginThroughProxy(proxy.url, 'alice');
    t.same((await status(proxy.url, ok.cookie)).user, {
      sub: 'alice',
      email: 'alice@example.com',
      name: 'Alice',
      groups: [],
      tenant: null,
    });

    const other = await loginThroughProxy(proxy.url, 'omar');
    t.equal(other.result.response.status, 403, 'refused');
    t.match(other.result.response.headers.get('content-type'), 'text/html');
    t.match(
      other.result.body,
      '<p id="error-message">login refused: the Google Workspace domain &quot;other.example&quot; is not allowed ' +
        'here</p>',
    );
    t.equal((await status(proxy.url, other.cookie)).authenticated, false, 'no session');
    t.ok(
      proxy.logs().some((l) => l.event === 'login.refused'),
      'logged',
    );

    const consumer = await loginThroughProxy(proxy.url, 'gina');
    t.equal(consumer.result.response.status, 403);
    t.match(consumer.result.body, 'only Google Workspace accounts of an allowed domain may log in');
    t.equal((await status(proxy.url, consumer.cookie)).authenticated, false);
  },
);

t.test('several allowed domains: no hd parameter, each listed domain may log in', async (t) => {
  const proxy = await stack(t, ['example.com', 'Other.Example']);
  const start = await fetch(`${proxy.url}/oauth/login`, { redirect: 'manual' });
  t.notOk(new URL(start.headers.get('location')!).searchParams.has('hd'));
  for (const u of ['alice', 'omar'])
    t.equal(
      (await status(proxy.url, (await loginThroughProxy(proxy.url, u)).cookie)).authenticated,
      true,
      `${u} admitted (case-insensitive)`,
    );
  t.equal((await status(proxy.url, (await loginThroughProxy(proxy.url, 'gina')).cookie)).authenticated, false);
});
