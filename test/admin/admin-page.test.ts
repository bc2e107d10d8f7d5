/**
 * The admin console page (/admin) in Chromium: an admin's browser sees the tables (clients, keys,
 * and a user's grants, sessions and connections) filled by /assets/admin.js under the proxy's CSP,
 * revokes a client and ends a session with the buttons, and the screenshots are saved.
 */
import t from 'tap';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { codeFlowTokens, register } from '../helpers/oauth-manual.js';
import { atBothWidths, cookiesFor } from '../helpers/screens.js';
import { loginThroughProxy } from '../helpers/session-client.js';
import { startStack } from '../helpers/stack.js';
import { hashApiKey } from '../../src/tokens/apikeys.js';

const stack = await startStack({
  consent: false,
  proxy: {
    admin: { groups: ['admin'] },
    apiKeys: [{ name: 'ops', sha256: hashApiKey('ops-key-0123456789abcdef'), subject: 'svc:ops', groups: ['ops'] }],
  },
});
const browser: Browser = await launchChromium();
t.teardown(async () => {
  await browser.close();
  await stack.close();
});
const { proxy } = stack;
const REDIRECT = 'http://127.0.0.1:33418/callback';

const alice = await loginThroughProxy(proxy.url, 'alice');
const bob = await loginThroughProxy(proxy.url, 'bob');
const { meta, client } = await register(proxy.url, REDIRECT, { client_name: 'page-test-client' });
const tokens = await codeFlowTokens(meta, {
  clientId: client.client_id,
  redirect: REDIRECT,
  resource: `${proxy.url}/mcp`,
  user: 'bob',
});
if (tokens.status !== 200) throw new Error(`token: ${tokens.status}`);
const status = async (cookie: string) =>
  ((await (await fetch(`${proxy.url}/oauth/status`, { headers: { cookie } })).json()) as { authenticated: boolean })
    .authenticated;

t.test('the page at both widths: tables filled, no script refused', async (t) => {
  const url = `${proxy.url}/admin?user=bob`;
  const saved = await atBothWidths(
    browser,
    async (page) => {
      page.on('console', (m) => {
        if (m.type() === 'error') t.fail(`console error: ${m.text()}`);
      });
      return page.goto(url);
    },
    'admin',
    async (page) => {
      await page.locator(`#clients tr[data-id="${client.client_id}"]`).waitFor();
      await page.locator('#keys tr[data-id="apikey:ops"]').waitFor();
      await page.locator('#grants tbody tr').first().waitFor();
      await page.locator('#sessions tbody tr').first().waitFor();
      t.match(await page.locator('#clients').textContent(), 'page-test-client');
      t.match(await page.locator('#keys').textContent(), 'svc:ops');
      t.match(await page.locator('#grants').textContent(), client.client_id);
      t.match(await page.locator('#connections').textContent(), 'None.', 'no upstream connections configured');
      t.equal(await page.locator('#user').inputValue(), 'bob');
    },
    cookiesFor(alice.cookie, proxy.url),
  );
  t.equal(saved.length, 2);
});

t.test('revoke a client and end a session with the buttons', async (t) => {
  const context = await browser.newContext();
  context.setDefaultTimeout(15_000);
  await context.addCookies(cookiesFor(alice.cookie, proxy.url));
  const page = await context.newPage();
  await page.goto(`${proxy.url}/admin?user=bob`);
  const row = page.locator(`#clients tr[data-id="${client.client_id}"]`);
  await row.locator('button', { hasText: 'Revoke' }).click();
  await row.waitFor({ state: 'detached' });
  const list = (await (
    await fetch(`${proxy.url}/admin/api/clients`, { headers: { cookie: alice.cookie } })
  ).json()) as { clients: Array<{ id: string }> };
  t.notOk(
    list.clients.some((c) => c.id === client.client_id),
    'the client is gone',
  );
  await page.reload();
  await page.locator('#grants .empty').waitFor();
  t.pass("bob's grant to it went with it");

  t.equal(await status(bob.cookie), true);
  const sessions = page.locator('#sessions tbody tr');
  const before = await sessions.count();
  t.ok(before >= 1, 'bob has browser sessions');
  for (let i = 0; i < before; i += 1) await sessions.first().locator('button', { hasText: 'End' }).click();
  await page.locator('#sessions .empty').waitFor();
  t.equal(await status(bob.cookie), false, "bob's cookie is refused");
  t.equal(await status(alice.cookie), true, "the admin's own session stays");
  await context.close();
});
