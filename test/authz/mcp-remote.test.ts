// mcp-remote, a real MCP client bridge (stdio ↔ streamable HTTP with OAuth), through the proxy:
// the SDK Client talks MCP to mcp-remote over stdio; mcp-remote gets a 401, discovers the
// proxy's AS, registers with DCR, prints the authorization URL (its "browser" is a recorder
// that opens nothing), and waits on its own loopback callback server. The test plays the
// browser headlessly — proxy /oauth/login → upstream IdP → consent — and the last redirect
// lands on mcp-remote's callback, which exchanges the code; then tools/call goes through.
import t from 'tap';
import { CookieJar, headlessLogin, parseForms } from '../helpers/login.js';
import { mcpRemoteHome, startMcpRemote } from '../helpers/mcp-remote.js';
import { freePort } from '../helpers/ports.js';
import { startStack } from '../helpers/stack.js';

const stack = await startStack({ consent: true });
t.teardown(() => stack.close());
const { proxy } = stack;
const mcpUrl = `${proxy.url}/mcp/demo`;

t.test('mcp-remote signs in through the proxy headlessly and calls a tool as alice', { timeout: 90_000 }, async (t) => {
  const home = await mcpRemoteHome();
  t.teardown(() => home.remove());
  const callbackPort = await freePort();
  const remote = startMcpRemote({ serverUrl: mcpUrl, callbackPort, home, args: ['--auth-timeout', '60'] });
  t.teardown(() => remote.close());

  const [, printed] = await remote.waitForStderr(/Please authorize this client by visiting:\s*\n(\S+)/, 30_000);
  const authUrl = new URL(printed!);
  t.equal(
    `${authUrl.origin}${authUrl.pathname}`,
    (await asMetadata()).authorization_endpoint,
    'the URL is the proxy AS authorization endpoint',
  );
  t.equal(authUrl.searchParams.get('resource'), mcpUrl, 'RFC 8707 resource = the MCP URL');
  t.equal(authUrl.searchParams.get('code_challenge_method'), 'S256', 'PKCE S256');
  t.equal(
    authUrl.searchParams.get('redirect_uri'),
    `http://127.0.0.1:${callbackPort}/oauth/callback`,
    'redirect to its own loopback callback',
  );

  // No real browser: mcp-remote's opener ran our recorder with the very same URL.
  await remote.waitForStderr(/Browser opened automatically|Could not open a browser/, 10_000);
  const opened = await home.opened();
  t.equal(opened.length, 1, 'the no-op browser was started once');
  t.same(sameUrl(opened[0], authUrl), true, 'with the authorization URL (mcp-remote re-encodes it: compare parsed)');

  // The browser part, without stopAt: the final redirect reaches mcp-remote's callback server.
  const login = await headlessLogin({
    startUrl: authUrl.href,
    username: 'alice',
    password: 'alice',
    jar: new CookieJar(),
  });
  const hops = login.hops.join('\n');
  t.match(hops, /\/oauth\/login\?returnTo=/, 'no proxy session: the proxy login was used');
  t.match(hops, new RegExp(`${escapeRe(stack.idp.issuer)}/`), 'the upstream IdP was visited');
  t.match(hops, /\/interaction\/[^/\s]+\/confirm/, 'the proxy consent page was submitted');
  const final = new URL(login.finalUrl);
  t.equal(
    `${final.origin}${final.pathname}`,
    `http://127.0.0.1:${callbackPort}/oauth/callback`,
    'ended at mcp-remote callback',
  );
  t.ok(final.searchParams.get('code'), 'with a code');
  t.equal(login.response.status, 200, 'mcp-remote callback page: 200');
  t.match(login.body ?? '', /Authorization successful/, 'and it exchanged the code successfully');

  await remote.connected;
  const who = (await remote.client.callTool({ name: 'whoami', arguments: {} })).structuredContent as any;
  t.equal(who.user, 'alice', 'whoami through mcp-remote says alice');
  t.same(who.groups, ['admin', 'support']);
  t.equal(who.assertion?.valid, true, 'the backend verified the proxy identity assertion');
  t.equal(who.leakedAuthorization, false, 'the bearer token is not passed through to the backend');
  const tools = await remote.client.listTools();
  t.ok(
    tools.tools.some((x) => x.name === 'whoami'),
    'tools/list through mcp-remote',
  );
  t.ok(remote.alive());
  await remote.close();
  t.notOk(remote.alive(), 'the child is gone after close');

  // A second run with the same config dir reuses the stored tokens: no new sign-in, no browser.
  const again = startMcpRemote({ serverUrl: mcpUrl, callbackPort, home });
  t.teardown(() => again.close());
  await again.connected;
  const who2 = (await again.client.callTool({ name: 'whoami', arguments: {} })).structuredContent as any;
  t.equal(who2.user, 'alice', 'stored tokens still work');
  t.notMatch(again.stderr(), /Please authorize/, 'no second authorization');
  t.equal((await home.opened()).length, 1, 'no second browser launch');
});

t.test(
  'mcp-remote --device-code: the RFC 8628 device grant through the proxy, as bob',
  { timeout: 90_000 },
  async (t) => {
    const home = await mcpRemoteHome();
    t.teardown(() => home.remove());
    const remote = startMcpRemote({ serverUrl: mcpUrl, home, args: ['--device-code'] });
    t.teardown(() => remote.close());

    // It prints verification_uri_complete (the code in the URL) since the AS returns one.
    const [, printed] = await remote.waitForStderr(/To authorize this client, visit:\s*\n(?:\[\d+\])?\s*(\S+)/, 30_000);
    const verification = new URL(printed!);
    t.equal(`${verification.origin}${verification.pathname}`, `${proxy.url}/device`, 'the proxy AS device page');
    t.match(verification.searchParams.get('user_code') ?? '', /^[A-Z]{4}-[A-Z]{4}$/, 'with the user code');
    await remote.waitForStderr(/Waiting for approval/, 10_000);
    const { page, hops } = await approveDevice({ url: verification.href, username: 'bob', password: 'bob' });
    t.match(page, /Device connected/, 'success page');
    t.match(hops.join('\n'), /\/interaction\/[^/\s]+\/confirm/, 'the proxy consent page was submitted');

    await remote.connected;
    const who = (await remote.client.callTool({ name: 'whoami', arguments: {} })).structuredContent as any;
    t.equal(who.user, 'bob', 'whoami through mcp-remote (device grant) says bob');
    t.same(await home.opened(), [], 'no browser was started');
  },
);

async function asMetadata(): Promise<Record<string, any>> {
  return (await (await fetch(`${proxy.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, any>;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function sameUrl(a: string | undefined, b: URL): boolean {
  const u = URL.parse(a ?? '');
  if (!u || `${u.origin}${u.pathname}` !== `${b.origin}${b.pathname}`) return false;
  const sorted = (x: URL) => JSON.stringify([...x.searchParams].sort());
  return sorted(u) === sorted(b);
}

/**
 * The user, at another machine, opens the URL the device printed: the code page (auto-submitted
 * when the code is in the URL), then the confirm page (its Continue, not Cancel), then the
 * proxy's interaction: login through the upstream IdP and consent.
 */
async function approveDevice(o: {
  url: string;
  username: string;
  password: string;
  userCode?: string;
}): Promise<{ page: string; hops: string[] }> {
  const jar = new CookieJar();
  const send = async (url: string, body?: string) => {
    const headers: Record<string, string> = { accept: 'text/html' };
    const cookie = jar.header(url);
    if (cookie) headers.cookie = cookie;
    if (body !== undefined)
      Object.assign(headers, { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(url).origin });
    const res = await fetch(url, { method: body === undefined ? 'GET' : 'POST', headers, body, redirect: 'manual' });
    jar.setFromResponse(url, res);
    return res;
  };
  let url = o.url;
  let res = await send(url);
  for (let step = 0; step < 4; step += 1) {
    const location = res.headers.get('location');
    if (location) {
      const login = await headlessLogin({
        startUrl: new URL(location, url).href,
        username: o.username,
        password: o.password,
        jar,
      });
      return { page: login.body ?? '', hops: login.hops };
    }
    const html = await res.text();
    const form = parseForms(html, url).find((f) => new URL(f.action).pathname.endsWith('/device'));
    if (!form) throw new Error(`no device form at ${url} (${res.status}): ${html.slice(0, 500)}`);
    const fields = { ...form.fields };
    if (!fields.confirm && !fields.user_code) fields.user_code = o.userCode ?? '';
    [url, res] = [form.action, await send(form.action, new URLSearchParams(fields).toString())];
  }
  throw new Error('the device pages never led to the login');
}
