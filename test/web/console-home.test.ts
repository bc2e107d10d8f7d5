// The console's home page in Chromium: a card per backend with its health (a healthy one and a down one), the MCP
// URL and client snippets that copy, local times, no empty rows, the theme toggle; screenshots at desktop and
// phone widths in both themes under test-output/screenshots/.
import t from 'tap';
import { launchChromium } from '../helpers/chromium.js';
import { logIn, screenshots, startConsoleBackend } from '../helpers/console-backends.js';
import { freePort } from '../helpers/ports.js';
import { startStack } from '../helpers/stack.js';

const rich = await startConsoleBackend('rich');
const closedPort = await freePort();
const stack = await startStack({
  consent: false,
  backends: (url) => [
    { name: 'demo', title: 'Demo server', description: 'Echo, whoami and a slow counter.', http: { url } },
    { name: 'rich', title: 'Rich results', description: 'Images, JSON and links.', http: { url: rich.url } },
    { name: 'down', description: 'Nothing listens here.', http: { url: `http://127.0.0.1:${closedPort}/mcp` } },
  ],
});
const browser = await launchChromium();
t.teardown(async () => {
  await browser.close();
  await stack.close();
  await rich.close();
});
const base = stack.proxy.url;

t.test('home: cards with health, URL, snippets, local times, no empty rows; theme toggle', async (t) => {
  const context = await browser.newContext({ timezoneId: 'Asia/Tokyo', locale: 'en-GB', colorScheme: 'light' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // favicon.ico: not this page's concern (another part of the console adds it).
  const noted = (m: import('playwright-core').ConsoleMessage) => `${m.text()} @ ${m.location().url}`;
  page.on('console', (m) => void (m.type() === 'error' && !/favicon/.test(noted(m)) && errors.push(noted(m))));
  await logIn(page, base, 'alice', '/');

  for (const name of ['demo', 'rich', 'down']) t.equal(await page.locator(`#backend-${name}`).count(), 1, name);
  await page.waitForSelector('#health-demo[data-state=up]');
  await page.waitForSelector('#health-down[data-state=down]');
  t.match(await page.textContent('#health-down'), /down: unreachable: .*\(ECONNREFUSED\)/, 'the down backend says why');
  t.match(await page.textContent('#health-demo'), /up/);
  t.match(await page.textContent('#backend-demo .about'), /Demo server\s*Echo, whoami/, 'title and description');
  t.equal(await page.textContent('#backend-down .kind'), 'http', 'kind');

  const status = (await (await page.request.get(`${base}/oauth/status`)).json()) as { user: { tenant?: string } };
  t.notOk(status.user.tenant, 'alice has no tenant');
  t.equal(await page.locator('#user-tenant').count(), 0, 'no empty Tenant row');
  t.equal(await page.locator('#me tr').count(), 5, 'name, email, subject, groups, session end');

  const time = page.locator('#user-expires time');
  const iso = (await time.getAttribute('datetime'))!;
  const tokyo = new Date(iso).toLocaleString('en-GB', {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: 'Asia/Tokyo',
  });
  t.equal(await time.textContent(), tokyo, `the session end in the viewer's time zone (${tokyo})`);

  const url = `${base}/mcp/demo`;
  t.equal(await page.textContent('#url-demo'), url, 'the MCP URL');
  await page.click('#snippets-demo summary');
  t.equal(await page.textContent('#snippet-demo-claude-code'), `claude mcp add --transport http demo ${url}`);
  t.equal(await page.textContent('#snippet-demo-mcp-remote'), `npx mcp-remote ${url} --allow-http`);
  t.equal(
    await page.textContent('#snippet-demo-inspector'),
    `npx @modelcontextprotocol/inspector@latest --transport http --server-url ${url}`,
  );
  t.same(JSON.parse((await page.textContent('#snippet-demo-vscode'))!), { servers: { demo: { type: 'http', url } } });
  t.same(JSON.parse((await page.textContent('#snippet-demo-cursor'))!), { mcpServers: { demo: { url } } });
  await page.click('[data-copy="snippet-demo-claude-code"]');
  await page.waitForSelector('[data-copy="snippet-demo-claude-code"][data-copied=true]');
  t.equal(
    await page.evaluate('navigator.clipboard.readText()'),
    `claude mcp add --transport http demo ${url}`,
    'copied',
  );
  await page.click('#snippets-demo summary');

  // Health comes from the same check as /readyz; anonymous callers get none of it here.
  const health = await page.request.get(`${base}/api/backends/down/health`);
  t.match(await health.json(), { backend: 'down', ok: false, detail: 'ECONNREFUSED' });
  t.equal((await fetch(`${base}/api/backends/down/health`)).status, 401, 'anonymous: 401');

  const theme = () => page.evaluate('document.documentElement.dataset.theme ?? null');
  const background = () => page.evaluate('getComputedStyle(document.body).backgroundColor');
  const light = await background();
  t.equal(await page.getAttribute('#theme-toggle', 'aria-label'), 'Switch to the dark theme');
  await page.focus('#theme-toggle');
  await page.keyboard.press('Enter');
  t.equal(await theme(), 'dark', 'toggled to dark from the keyboard');
  t.not(await background(), light, 'the page is dark');
  await page.reload();
  t.equal(await theme(), 'dark', 'the choice is remembered');
  await page.click('#theme-toggle');
  t.equal(await theme(), 'light');

  await page.click('#snippets-demo summary'); // the screenshots show one card's client setups
  const shots = await screenshots(page, 'home', () => page.waitForSelector('#health-down[data-state=down]').then());
  t.equal(shots.length, 4, shots.join('\n'));
  t.same(errors, [], 'no script errors, no CSP violations');
  await context.close();
});

t.test('home for a logged-out visitor: a login button in the console look', async (t) => {
  const page = await browser.newPage();
  await page.goto(`${base}/`);
  t.ok(await page.isVisible('#login'));
  t.ok(await page.isVisible('#theme-toggle'), 'the header and theme toggle are there too');
  await page.close();
});
