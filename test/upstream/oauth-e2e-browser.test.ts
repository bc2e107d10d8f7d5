// `upstream: {kind: oauth}` with a real browser (Debian Chromium via playwright-core): the SDK
// client's -32042 names a URL; alice's logged-in browser opens it, signs in at the backend's own
// AS and consents, lands back at the proxy, whose home page then shows the connection; the SDK
// client initializes and whoami says alice. The home page's Disconnect button (DELETE with the
// page's CSRF token) forgets it, and the next call elicits again.
import t from 'tap';
import type { Browser, Page } from 'playwright-core';
import { UrlElicitationRequiredError } from '@modelcontextprotocol/sdk/types.js';
import {
  authorizeSdk,
  elicitationOf,
  GH,
  ghWhoami,
  launchChromium,
  sdkConnect,
  startOAuthStack,
} from '../helpers/oauth-upstream.js';

const WAIT = 15_000;

t.test('Chromium connects gh for alice; the SDK client then works; Disconnect on the home page', async (t) => {
  const stack = await startOAuthStack();
  let browser: Browser | undefined;
  t.teardown(async () => {
    await browser?.close().catch(() => undefined);
    await stack.close();
  });
  const { proxy, gh, ghUrl, idp } = stack;

  const alice = await authorizeSdk(ghUrl, 'alice');
  const e = await elicitationOf(t, sdkConnect(ghUrl, alice.provider));

  browser = await launchChromium(WAIT);
  const context = await browser.newContext();
  context.setDefaultTimeout(WAIT);
  context.setDefaultNavigationTimeout(WAIT);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()} @ ${m.location().url}`);
  });
  t.teardown(() => {
    if (problems.length) t.comment(`browser problems:\n${problems.join('\n')}`);
  });

  // Logged in at the proxy (through the IdP's form).
  await page.goto(`${proxy.url}/oauth/login`);
  await page.waitForURL((u) => u.href.startsWith(`${idp.issuer}/interaction/`));
  await signIn(page, 'alice');
  await page.waitForURL(`${proxy.url}/`);
  await page.locator(`#connect-${GH}`).waitFor({ state: 'visible' });
  t.equal(await page.locator(`#connection-${GH}`).getAttribute('data-state'), 'disconnected', 'home: not connected');

  // The elicitation's URL: the backend's AS login and consent, then back at the proxy.
  await page.goto(e.url);
  await page.waitForURL((u) => u.href.startsWith(`${gh.as.issuer}/interaction/`));
  t.pass(`at the backend AS (${new URL(page.url()).origin})`);
  await signIn(page, 'alice');
  await page.getByRole('heading', { name: 'Allow access?' }).waitFor({ state: 'visible' });
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(`${proxy.url}/`);
  await page.locator(`#disconnect-${GH}`).waitFor({ state: 'visible' });
  t.match(await page.locator(`#connection-${GH}`).textContent(), /Connected \(read\)/, 'home: connected');

  const client = await sdkConnect(ghUrl, alice.provider);
  t.teardown(() => client.close());
  t.equal((await ghWhoami(client)).sub, 'alice', 'the SDK client initializes; whoami says alice');

  // Disconnect from the home page: the page reloads showing the Connect link again.
  const revocations = gh.as.counters.revocations.length;
  const answer = page.waitForResponse((r) => r.url() === `${proxy.url}/api/connections/${GH}`);
  await page.locator(`#disconnect-${GH}`).click();
  t.equal((await answer).status(), 200, 'DELETE /api/connections/gh from the page: 200');
  await page.locator(`#connect-${GH}`).waitFor({ state: 'visible' });
  t.ok(gh.as.counters.revocations.length > revocations, 'revoked at the backend AS');
  t.type(await ghWhoami(client).catch((err: unknown) => err), UrlElicitationRequiredError, 'the next call: -32042');
  t.same(
    problems.filter((p) => p.startsWith('pageerror') || /Content Security Policy/i.test(p)),
    [],
    'no script errors or CSP violations',
  );
});

/** The login form of the dev IdP and of the backend AS (the same pages). */
async function signIn(page: Page, user: string) {
  await page.locator('input[name="username"]').fill(user);
  await page.locator('input[name="password"]').fill(user);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
