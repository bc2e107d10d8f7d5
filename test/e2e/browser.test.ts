// A real browser (Debian Chromium driven by playwright-core) through the whole stack: the
// proxy's /oauth/login, the IdP's login and consent forms, the home page, /oauth/status
// fetched by the page itself, then logout through the IdP's RP-initiated logout.
import t from 'tap';
import { mkdir } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { startStack, type Stack } from '../helpers/stack.js';

const WAIT = 15_000; // per navigation / element wait; the whole test stays well under a minute

interface Status {
  authenticated: boolean;
  user?: { sub: string; email: string | null; name: string | null; groups: string[]; tenant: string | null };
  source?: string;
}

/** GET /oauth/status from inside the page (same origin, the browser's own cookies). */
const statusFromPage = (page: Page) =>
  page.evaluate(() => fetch('/oauth/status', { credentials: 'same-origin' }).then((r) => r.json())) as Promise<Status>;

t.test('browser: log in through the IdP forms, see the home page, log out', { timeout: 60_000 }, async (t) => {
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  t.teardown(async () => {
    await browser?.close().catch(() => undefined);
    await stack?.close();
  });

  stack = await startStack({ consent: true });
  const { proxy, idp } = stack;
  browser = await launchChromium(WAIT);
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  context.setDefaultTimeout(WAIT);
  context.setDefaultNavigationTimeout(WAIT);
  const page = await context.newPage();

  // Diagnostics: what the browser complained about, and every document it loaded.
  const problems: string[] = [];
  const documents: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()} @ ${m.location().url}`);
  });
  page.on('response', async (r) => {
    const req = r.request();
    if (req.resourceType() !== 'document') return;
    documents.push(`${req.method()} ${r.url()} -> ${r.status()}`);
    if (r.status() >= 400) {
      const body = await r.text().catch(() => '');
      problems.push(
        `${req.method()} ${r.url()} -> ${r.status()} origin=${(await req.allHeaders()).origin} ` +
          `body=${body.slice(0, 300)}`,
      );
    }
  });
  t.teardown(() => {
    if (documents.length) t.comment(`documents:\n${documents.join('\n')}`);
    if (problems.length) t.comment(`browser problems:\n${problems.join('\n')}`);
    const warnings = stack?.proxy.logs().filter((l) => Number(l.level) >= 40) ?? [];
    if (warnings.length) t.comment(`proxy warnings:\n${warnings.map((l) => JSON.stringify(l)).join('\n')}`);
  });

  // Anonymous home page offers a login link.
  await page.goto(`${proxy.url}/`);
  await t.resolves(page.locator('#login').waitFor({ state: 'visible' }), 'anonymous home shows the login link');
  t.same(await statusFromPage(page), { authenticated: false }, 'not logged in yet');

  // 1. The proxy sends the browser to the IdP's login form.
  await page.goto(`${proxy.url}/oauth/login`);
  await page.waitForURL((u) => u.href.startsWith(`${idp.issuer}/interaction/`));
  t.ok(page.url().startsWith(`${idp.issuer}/interaction/`), `on the IdP login page (${page.url()})`);
  t.equal(await page.locator('h1').textContent(), 'Sign in');
  await page.locator('input[name="username"]').fill('alice');
  await page.locator('input[name="password"]').fill('alice');
  await page.getByRole('button', { name: 'Sign in' }).click();

  // 2. Consent form.
  await page.getByRole('heading', { name: 'Allow access?' }).waitFor({ state: 'visible' });
  t.ok(page.url().startsWith(`${idp.issuer}/interaction/`), 'on the IdP consent page');
  t.match(await page.locator('body').textContent(), /openid/, 'consent lists the requested scopes');
  await page.getByRole('button', { name: 'Allow' }).click();

  // 3. Back at the proxy's home page, logged in.
  await page.waitForURL(`${proxy.url}/`);
  t.equal(page.url(), `${proxy.url}/`, 'landed on the proxy home page');
  await page.locator('#user-email').waitFor({ state: 'visible' });
  t.equal((await page.locator('#user-email').textContent())?.trim(), 'alice@example.com', 'home shows the email');
  t.equal((await page.locator('#user-groups').textContent())?.trim(), 'admin, support', 'home shows the groups');
  t.equal((await page.locator('#user-sub').textContent())?.trim(), 'alice', 'home shows the subject');
  t.equal(await page.locator('#login').count(), 0, 'no login link once logged in');
  t.ok(await page.locator('#logout').isVisible(), 'logout button visible');
  t.match(
    await page.locator('#backends').textContent(),
    new RegExp(`demo\\s*${proxy.url.replace(/[.]/g, '\\.')}/mcp/demo`),
    'backends table lists demo and its URL',
  );

  const cookies = await context.cookies(proxy.url);
  const session = cookies.find((c) => c.name === 'mcp_proxy_session');
  t.ok(session, 'session cookie present');
  t.equal(session?.httpOnly, true, 'session cookie is HttpOnly');
  t.equal(session?.sameSite, 'Lax', 'session cookie is SameSite=Lax');

  const status = await statusFromPage(page);
  t.equal(status.authenticated, true, '/oauth/status from the page: authenticated');
  t.equal(status.user?.sub, 'alice');
  t.equal(status.user?.email, 'alice@example.com');
  t.same(status.user?.groups, ['admin', 'support']);
  t.equal(status.source, 'session');

  await mkdir('test-output', { recursive: true });
  await page.screenshot({ path: 'test-output/browser-home.png', fullPage: true });

  // 4. Log out: the home page's form POSTs /oauth/logout (CSRF token) -> 303 to the IdP's
  //    end_session (RP-initiated logout, auto-confirmed with an id_token_hint) -> back to /.
  const clickLogout = async () => {
    const answer = page.waitForResponse(
      (r) => r.url() === `${proxy.url}/oauth/logout` && r.request().method() === 'POST',
    );
    await page.locator('#logout').click();
    return answer;
  };
  const logout = await clickLogout();
  // Regression guard: with `Referrer-Policy: no-referrer` Chromium sent `Origin: null` and the form was refused.
  t.notOk(
    proxy.logs().some((l) => l.event === 'origin.refused'),
    'the logout form carries our own Origin',
  );
  t.equal(logout.status(), 303, 'POST /oauth/logout answers 303');
  t.ok(
    logout.headers().location?.startsWith(`${idp.issuer}/session/end`),
    `redirected to the IdP end-session endpoint (${logout.headers().location})`,
  );
  await page.waitForURL((u) => u.href === `${proxy.url}/` || u.href.startsWith(`${idp.issuer}/session/end`), {
    waitUntil: 'commit',
  });
  if (!page.url().startsWith(proxy.url)) {
    // The IdP auto-submits its "Sign out?" form when given an id_token_hint; submit it ourselves if not.
    const home = await page.waitForURL(`${proxy.url}/`, { timeout: 5_000 }).then(
      () => true,
      () => false,
    );
    if (!home) {
      t.comment('IdP logout confirmation not auto-submitted: clicking "Sign out"');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(`${proxy.url}/`);
    }
  }
  await page.waitForLoadState('load');
  t.equal(page.url(), `${proxy.url}/`, 'back on the proxy home page after logout');
  await t.resolves(page.locator('#login').waitFor({ state: 'visible' }), 'login link is back');
  t.equal(await page.locator('#user-email').count(), 0, 'no user shown');
  t.same(await statusFromPage(page), { authenticated: false }, '/oauth/status from the page: logged out');
  t.notOk(
    (await context.cookies(proxy.url)).some((c) => c.name === 'mcp_proxy_session' && c.value),
    'session cookie cleared',
  );

  t.ok(
    documents.some((d) => d.startsWith(`GET ${idp.issuer}/session/end`)),
    'the browser went through the IdP end-session endpoint',
  );
  t.same(
    problems.filter((p) => p.startsWith('pageerror') || /Content Security Policy/i.test(p)),
    [],
    'no script errors or CSP violations',
  );
});
