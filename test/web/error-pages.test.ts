// Error pages in a real browser (Chromium): a 403 for a backend the user may not use, a 404, an
// OAuth callback error. Each shows the product header, a plain explanation, what to do next and
// the request id, which is also the X-Request-Id header and the reqId of the request's log lines.
// API and MCP clients keep their JSON. Screenshots at desktop and phone widths: test-output/screenshots/.
import t, { type Test } from 'tap';
import type { Browser, Page, Response } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { atBothWidths, cookiesFor } from '../helpers/screens.js';
import { loginThroughProxy, mcpSession } from '../helpers/session-client.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let browser: Browser;
let bob: string;

t.before(async () => {
  stack = await startStack({
    consent: false,
    backends: (url) => [
      { name: 'demo', http: { url } },
      { name: 'secret', http: { url }, allow: { groups: ['admin', 'auditors'] } },
    ],
  });
  browser = await launchChromium();
  bob = (await loginThroughProxy(stack.proxy.url, 'bob')).cookie;
});
t.teardown(async () => {
  await browser?.close().catch(() => undefined);
  await stack?.close();
});

/** Resolves once `check` holds (audit lines are flushed every 200 ms); rejects after 5 s. */
async function waitFor(check: () => boolean): Promise<void> {
  const until = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > until) throw new Error('not within 5 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The page's request id, checked against the response header and the proxy's log lines. */
async function requestIdOf(t: Test, page: Page, response: Response | null) {
  const shown = (await page.locator('#request-id').textContent())?.trim() ?? '';
  t.match(shown, /^[0-9a-f]{16}$/, `the page shows a request id (${shown})`);
  t.equal(response?.headers()['x-request-id'], shown, 'the same id is the X-Request-Id header');
  const lines = stack.proxy.logs().filter((l) => l.reqId === shown);
  t.ok(lines.length > 0, 'and the reqId of its log lines');
  return shown;
}

async function header(t: Test, page: Page) {
  t.equal(await page.locator('header.product a.brand').textContent(), ' mcp-oidc-proxy', 'the product header');
  t.ok(await page.isVisible('header.product #theme-toggle'), 'with the theme toggle of the console');
  t.ok(
    await page.evaluate("getComputedStyle(document.body).backgroundColor !== 'rgba(0, 0, 0, 0)'"),
    "the console's stylesheet",
  );
  const logo = await page
    .locator('header.product img')
    .evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth);
  t.ok(logo > 0, 'its logo (/favicon.svg) loads');
  const ico = await page.evaluate(
    'new Promise((ok, no) => { const i = new Image(); i.onload = () => ok(i.naturalWidth); i.onerror = no; ' +
      "i.src = '/favicon.ico'; })",
  );
  t.equal(ico, 32, 'the browser decodes /favicon.ico (32 px)');
  t.ok(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), 'nothing overflows sideways');
}

t.test('403: a backend bob may not use says which group to ask for', async (t) => {
  const url = `${stack.proxy.url}/explore/secret`;
  const saved = await atBothWidths(
    browser,
    async (page) => {
      const response = await page.goto(url);
      t.equal(response?.status(), 403);
      await requestIdOf(t, page, response);
    },
    'error-403-backend',
    async (page) => {
      await header(t, page);
      t.equal(await page.locator('#error-title').textContent(), 'You do not have access');
      t.match(await page.locator('#error-explain').textContent(), /logged in, but the proxy’s policy/);
      const steps = (await page.locator('#error-steps').textContent()) ?? '';
      t.match(steps, /Ask an administrator to add you to one of the groups admin, auditors/);
      t.match(steps, /backend secret/);
      t.equal(await page.locator('#go-home').getAttribute('href'), '/', 'a way back home');
    },
    cookiesFor(bob, stack.proxy.url),
  );
  t.comment(`screenshots: ${saved.join(', ')}`);
  // The REST API keeps its JSON for the same refusal.
  const api = await fetch(`${stack.proxy.url}/api/backends/secret/tools`, { headers: { cookie: bob } });
  t.equal(api.status, 403);
  t.match(await api.json(), { error: { code: 'FORBIDDEN' } });
  t.match(api.headers.get('x-request-id'), /^[0-9a-f]{16}$/);
});

t.test('404: a page that does not exist', async (t) => {
  const saved = await atBothWidths(
    browser,
    async (page) => {
      const response = await page.goto(`${stack.proxy.url}/no/such/page`);
      t.equal(response?.status(), 404);
      await requestIdOf(t, page, response);
    },
    'error-404',
    async (page) => {
      await header(t, page);
      t.equal(await page.locator('#error-title').textContent(), 'Page not found');
      t.equal(await page.locator('#error-code').textContent(), 'NOT_FOUND');
      t.match(await page.locator('#error-steps').textContent(), /Go back to the home page/);
    },
  );
  t.comment(`screenshots: ${saved.join(', ')}`);
  const json = await fetch(`${stack.proxy.url}/no/such/page`, { headers: { accept: 'application/json' } });
  t.same(await json.json(), { error: { code: 'NOT_FOUND', message: 'not found' } }, 'JSON for non-browsers');
});

t.test('OAuth callback error: the IdP answered access_denied', async (t) => {
  const saved = await atBothWidths(
    browser,
    async (page) => {
      // A real login transaction first (the proxy sends the browser to the IdP), then the IdP's error.
      await page.goto(`${stack.proxy.url}/oauth/login`);
      await page.waitForURL((u) => u.href.startsWith(stack.idp.issuer));
      const state = new URL(page.url()).searchParams.get('state') ?? 'x';
      const response = await page.goto(`${stack.proxy.url}/oauth/callback?error=access_denied&state=${state}`);
      t.equal(response?.status(), 400);
      await requestIdOf(t, page, response);
    },
    'error-oauth-callback',
    async (page) => {
      await header(t, page);
      t.equal(await page.locator('#error-title').textContent(), 'Login did not complete');
      t.match(await page.locator('#error-message').textContent(), 'the identity provider answered "access_denied"');
      t.equal(await page.locator('#log-in').getAttribute('href'), '/oauth/login?returnTo=%2F', 'log in again');
    },
  );
  t.comment(`screenshots: ${saved.join(', ')}`);
});

t.test("the authorization server's error page: an unknown MCP client", async (t) => {
  const meta = (await (await fetch(`${stack.proxy.url}/.well-known/oauth-authorization-server`)).json()) as {
    authorization_endpoint: string;
  };
  const auth = new URL(meta.authorization_endpoint);
  auth.search = new URLSearchParams({
    client_id: 'no-such-client',
    response_type: 'code',
    redirect_uri: 'http://127.0.0.1:1/callback',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  }).toString();
  const saved = await atBothWidths(
    browser,
    async (page) => {
      const response = await page.goto(auth.href);
      t.equal(response?.status(), 400);
      const shown = (await page.locator('#request-id').textContent())?.trim();
      t.match(shown, /^[0-9a-f]{16}$/, 'a request id');
      t.equal(response?.headers()['x-request-id'], shown, 'the X-Request-Id header');
      t.ok(
        stack.proxy.logs().some((l) => l.reqId === shown),
        'and the reqId of its log line',
      );
    },
    'error-oauth-authorize',
    async (page) => {
      await header(t, page);
      t.equal(await page.locator('#error-code').textContent(), 'invalid_client');
      t.equal(await page.locator('#error-title').textContent(), 'This sign-in request cannot be accepted');
    },
  );
  t.comment(`screenshots: ${saved.join(', ')}`);
});

t.test('anonymous on a protected page still goes to the login; MCP keeps JSON-RPC', async (t) => {
  const page = await fetch(`${stack.proxy.url}/explore/demo`, { headers: { accept: 'text/html' }, redirect: 'manual' });
  t.equal(page.status, 302);
  const mcp = await fetch(`${stack.proxy.url}/mcp/nope`, {
    method: 'POST',
    headers: { cookie: bob, accept: 'application/json, text/event-stream', 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });
  t.equal(mcp.status, 404);
  t.match(await mcp.json(), { jsonrpc: '2.0', error: { data: { code: 'BACKEND_NOT_FOUND' } } });
  t.match(mcp.headers.get('x-request-id'), /^[0-9a-f]{16}$/, 'MCP answers carry a request id too');
  // An MCP request's log line is its audit line: it carries the same id.
  const { call } = await mcpSession(`${stack.proxy.url}/mcp/demo`, { cookie: bob });
  const listed = await call('tools/list');
  const id = listed.headers.get('x-request-id');
  await listed.text();
  await t.resolves(
    waitFor(() => stack.proxy.logs().some((l) => l.audit === true && l.reqId === id && l.method === 'tools/list')),
    'the audit line of tools/list has the reqId of its X-Request-Id',
  );
});
