// A browser opening an MCP URL logs in, then gets a page saying what the URL is for and how to
// connect (the copy-paste lines of src/web/client-snippets.ts), not JSON-RPC; MCP clients' requests,
// GET streams included, are answered exactly as before. Checked in Chromium; screenshots at desktop
// and phone widths in test-output/screenshots/.
import t from 'tap';
import type { Browser } from 'playwright-core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { launchChromium } from '../helpers/chromium.js';
import { atBothWidths, cookiesFor } from '../helpers/screens.js';
import { loginThroughProxy, mcpSession } from '../helpers/session-client.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { clientSnippets } from '../../src/web/client-snippets.js';

let stack: Stack;
let browser: Browser;
let alice: string;
let bob: string;

t.before(async () => {
  stack = await startStack({
    consent: false,
    backends: (url) => [
      { name: 'demo', http: { url }, default: true },
      { name: 'tickets', http: { url }, allow: { groups: ['admin'] } },
    ],
  });
  browser = await launchChromium();
  alice = (await loginThroughProxy(stack.proxy.url, 'alice')).cookie;
  bob = (await loginThroughProxy(stack.proxy.url, 'bob')).cookie;
});
t.teardown(async () => {
  await browser?.close().catch(() => undefined);
  await stack?.close();
});

t.test('a browser on /mcp: logs in first, then what the URL is for and how to connect', async (t) => {
  const url = `${stack.proxy.url}/mcp`;
  const saved = await atBothWidths(
    browser,
    async (page) => {
      // Anonymous: sent to log in (README, Endpoints), then back to the MCP URL, which is now a page.
      await page.goto(url);
      await page.waitForURL((u) => u.href.startsWith(stack.idp.issuer));
      await page.locator('input[name="username"]').fill('bob');
      await page.locator('input[name="password"]').fill('bob');
      const back = page.waitForResponse((r) => r.url() === url);
      await page.getByRole('button', { name: 'Sign in' }).click();
      const response = await back;
      t.equal(response.status(), 200, 'a page, not JSON-RPC');
      t.match(response.headers()['content-type'], /^text\/html/);
      await page.waitForURL(url);
    },
    'mcp-url',
    async (page, screen) => {
      t.equal(await page.locator('h1').textContent(), 'This is an MCP endpoint');
      t.equal(await page.locator('#mcp-url').textContent(), url);
      t.equal(await page.locator('#console').getAttribute('href'), '/', 'a link to the console');
      t.equal(await page.locator('#explore').getAttribute('href'), '/explore/demo', 'and to the default backend');
      t.equal(
        await page.locator('#snippet-claude-code code').textContent(),
        `claude mcp add --transport http demo ${url}`,
      );
      t.match(await page.locator('#snippet-inspector-cli code').textContent(), '--header "Authorization: Bearer');
      t.match(await page.locator('#snippet-mcp-remote code').textContent(), `npx mcp-remote ${url} --allow-http`);
      t.same(JSON.parse((await page.locator('#snippet-vscode code').textContent()) ?? ''), {
        servers: { demo: { type: 'http', url } },
      });
      t.same(JSON.parse((await page.locator('#snippet-cursor code').textContent()) ?? ''), {
        mcpServers: { demo: { url } },
      });
      t.ok(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1'), 'no sideways scroll');
      if (screen !== 'desktop') return;
      await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.proxy.url });
      await page.locator('#snippet-vscode button.copy').click();
      await page.locator('#snippet-vscode button.copy', { hasText: 'Copied' }).waitFor();
      t.same(
        JSON.parse(await page.evaluate('navigator.clipboard.readText()')),
        { servers: { demo: { type: 'http', url } } },
        'Copy puts the snippet on the clipboard',
      );
    },
  );
  t.comment(`screenshots: ${saved.join(', ')}`);
});

t.test('a logged-in browser on /mcp/<b>: that backend, or the error page', async (t) => {
  const cookies = cookiesFor(alice, stack.proxy.url);
  const url = `${stack.proxy.url}/mcp/tickets`;
  await atBothWidths(
    browser,
    url,
    'mcp-url-tickets',
    async (page) => {
      t.equal(await page.locator('#mcp-url').textContent(), url);
      t.match(await page.locator('#snippet-claude-code code').textContent(), `tickets ${url}`);
    },
    cookies,
  );
  const context = await browser.newContext();
  await context.addCookies(cookiesFor(bob, stack.proxy.url));
  const page = await context.newPage();
  const denied = await page.goto(`${stack.proxy.url}/mcp/tickets`);
  t.equal(denied?.status(), 403, 'bob may not use tickets');
  t.match(await page.locator('#error-steps').textContent(), /add you to the group admin/);
  const missing = await page.goto(`${stack.proxy.url}/mcp/nope`);
  t.equal(missing?.status(), 404, 'an unknown backend: the 404 page');
  t.equal(await page.locator('#error-code').textContent(), 'BACKEND_NOT_FOUND');
  await context.close();
});

t.test("MCP clients' requests are unchanged", async (t) => {
  const url = `${stack.proxy.url}/mcp`;
  // An SDK client's GET stream (Accept: text/event-stream) and an anonymous one: 401 with the metadata pointer.
  const anon = await fetch(url, { headers: { accept: 'text/event-stream' } });
  t.equal(anon.status, 401);
  t.match(
    anon.headers.get('www-authenticate'),
    `resource_metadata="${stack.proxy.url}/.well-known/oauth-protected-resource/mcp"`,
  );
  // Accept text/html but with an MCP header (or a token): handled as before (a 401, or the login redirect
  // browsers get), not the page.
  for (const headers of <Array<Record<string, string>>>[
    { accept: 'text/html', 'mcp-protocol-version': '2025-06-18' },
    { accept: 'text/html', 'mcp-session-id': 'x' },
    { accept: 'text/html', authorization: 'Bearer nope' },
  ]) {
    const res = await fetch(url, { headers, redirect: 'manual' });
    t.not(res.status, 200, `${Object.keys(headers)[1]}: handled as before (${res.status})`);
    t.notMatch(await res.text(), 'This is an MCP endpoint', 'not the page');
  }
  // A logged-in client opens its GET stream on a session: text/event-stream, 200.
  const { sessionId, headers } = await mcpSession(url, { cookie: alice });
  const stream = await fetch(url, {
    headers: { ...headers, accept: 'text/event-stream', 'mcp-session-id': sessionId },
  });
  t.equal(stream.status, 200);
  t.match(stream.headers.get('content-type'), /^text\/event-stream/);
  await stream.body?.cancel();
  // The SDK client end to end.
  const client = new Client({ name: 'mcp-url-page-test', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { cookie: alice } } }),
  );
  t.ok((await client.listTools()).tools.some((x) => x.name === 'whoami'));
  await client.close();
});

t.test('the snippets name the server and suit plain-http URLs', async (t) => {
  const https = clientSnippets('https://mcp.example.com/mcp/tickets', 'tickets');
  t.equal(https.find((s) => s.id === 'mcp-remote')?.text, 'npx mcp-remote https://mcp.example.com/mcp/tickets');
  t.equal(
    https.find((s) => s.id === 'inspector')?.text,
    'npx @modelcontextprotocol/inspector@latest --transport http --server-url https://mcp.example.com/mcp/tickets',
  );
  t.match(clientSnippets('http://127.0.0.1:1/mcp/a b', 'a b')[0]?.text, 'claude mcp add --transport http a-b ');
});
