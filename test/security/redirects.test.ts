/**
 * Open redirects through `returnTo` (same-origin paths only). Every case logs in
 * for real — proxy `/oauth/login` → IdP login form → `/oauth/callback` — with a hostile
 * `returnTo`, and checks where the callback sends the browser: a path on the proxy, never
 * another origin, a script URL or an injected header.
 */
import t from 'tap';
import { CookieJar, headlessLogin } from '../helpers/login.js';
import { startStack } from '../helpers/stack.js';

const stack = await startStack({ consent: false });
t.teardown(() => stack.close());
const { proxy } = stack;
const idpOrigin = new URL(stack.idp.issuer).origin;

/** Logs in with `returnTo` sent as given (percent-encoded once) and stops at the callback's redirect. */
async function loginReturningTo(returnTo: string) {
  const jar = new CookieJar();
  const inFlow = (u: URL) => u.origin === idpOrigin || (u.origin === proxy.url && u.pathname.startsWith('/oauth/'));
  const r = await headlessLogin({
    startUrl: `${proxy.url}/oauth/login?returnTo=${encodeURIComponent(returnTo)}`,
    username: 'alice',
    password: 'alice',
    jar,
    stopAt: (u) => !inFlow(u),
  });
  return {
    status: r.response.status,
    location: r.response.headers.get('location'),
    final: new URL(r.finalUrl),
    lastHop: r.hops.at(-1) ?? '',
    session: jar.get(`${proxy.url}/`, 'mcp_proxy_session'),
  };
}

const FALLBACK = '/';
// [what it tries, the returnTo value as the attacker sends it, where the browser must end up]
const CASES: Array<[string, string, string]> = [
  ['absolute https URL', 'https://evil.example/phish', FALLBACK],
  ['absolute http URL', 'http://evil.example', FALLBACK],
  ['upper-case scheme', 'HTTPS://EVIL.EXAMPLE/', FALLBACK],
  ['scheme-relative //host', '//evil.example/x', FALLBACK],
  ['leading space before //host', ' //evil.example', FALLBACK],
  ['slash-backslash /\\host', '/\\evil.example', FALLBACK],
  ['double backslash \\\\host', '\\\\evil.example', FALLBACK],
  ['slash-backslash-slash /\\/host', '/\\/evil.example', FALLBACK],
  ['encoded backslashes /%5C%5Chost', '/%5C%5Cevil.example', FALLBACK],
  ['encoded //host', '%2F%2Fevil.example', FALLBACK],
  ['double-encoded //host', '%252F%252Fevil.example', FALLBACK],
  ['encoded tab /%09/host', '/%09/evil.example', FALLBACK],
  ['literal tab /<TAB>/host', '/\t/evil.example', FALLBACK],
  ['dot segment collapsing to //host', '/.//evil.example', FALLBACK],
  ['encoded dot-dot collapsing to //host', '/%2e%2e//evil.example', FALLBACK],
  ['javascript: URL', 'javascript:alert(document.cookie)', FALLBACK],
  ['data: URL', 'data:text/html,<script>alert(1)</script>', FALLBACK],
  ['CR/LF header injection', '/\r\nLocation: https://evil.example', FALLBACK],
  ['encoded CR/LF header injection', '/%0d%0aSet-Cookie:%20mcp_proxy_session=evil', FALLBACK],
  ['userinfo @ trick on an absolute URL', 'https://127.0.0.1@evil.example/', FALLBACK],
  ['userinfo @ trick on //', '//127.0.0.1@evil.example', FALLBACK],
  ['bare host name', 'evil.example', FALLBACK],
  ['full-width solidi (unicode lookalike of //)', '\uff0f\uff0fevil.example', FALLBACK],
  ['very long path (over 2 KiB)', `/${'a'.repeat(3000)}`, FALLBACK],
  ['the callback itself (code replay)', '/oauth/callback?code=stolen&state=x', FALLBACK],
  // Lookalikes that are plain local paths stay local, percent-encoded.
  ['slash + full-width solidus stays a local path', '/\uff0fevil.example', '/%EF%BC%8Fevil.example'],
  ['slash + @host stays a local path', '/@evil.example', '/@evil.example'],
  // Control: a genuine local path survives the whole login.
  ['a same-origin path with query and fragment is kept', '/mcp/demo?x=1#top', '/mcp/demo?x=1#top'],
];

for (const [label, returnTo, expected] of CASES) {
  t.test(`returnTo: ${label}`, async (t) => {
    const r = await loginReturningTo(returnTo);
    t.match(r.lastHop, new RegExp(`^GET ${proxy.url}/oauth/callback\\?`), 'the redirect comes from the login callback');
    t.equal(r.status, 302);
    t.equal(r.location, expected, 'Location is a local path');
    t.equal(r.final.origin, proxy.url, 'the browser stays on the proxy');
    t.ok(r.session, 'the login itself succeeded');
  });
}

t.test(
  'a login started on another loopback Host is bounced to publicUrl with returnTo already made safe',
  async (t) => {
    const { request } = await import('undici');
    const res = await request(`${proxy.url}/oauth/login?returnTo=${encodeURIComponent('//evil.example')}`, {
      headers: { host: `localhost:${new URL(proxy.url).port}` },
    });
    await res.body.dump();
    t.equal(res.statusCode, 302);
    t.equal(res.headers.location, `${proxy.url}/oauth/login?returnTo=%2F`);
  },
);

t.test('a browser sent to log in from a protected page gets a relative, encoded returnTo', async (t) => {
  const res = await fetch(`${proxy.url}/mcp/demo?next=//evil.example`, {
    headers: { accept: 'text/html' },
    redirect: 'manual',
  });
  t.equal(res.status, 302);
  t.equal(res.headers.get('location'), `/oauth/login?returnTo=${encodeURIComponent('/mcp/demo?next=//evil.example')}`);
  t.equal(stack.backend.seen.length, 0, 'the backend saw nothing');
});
