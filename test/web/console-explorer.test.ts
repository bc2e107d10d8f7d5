// The explorer in Chromium: a down backend shows what failed (never a blank page), an empty backend says so,
// required fields are enforced before a call, results render (JSON tree, image, resource link, tool error, raw
// JSON), a long call shows its elapsed time, the session's history survives a reload and refills a form, the
// theme toggles; screenshots at desktop and phone widths in both themes under test-output/screenshots/.
import t from 'tap';
import type { Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { logIn, screenshots, startConsoleBackend } from '../helpers/console-backends.js';
import { freePort } from '../helpers/ports.js';
import { startStack } from '../helpers/stack.js';

const rich = await startConsoleBackend('rich');
const empty = await startConsoleBackend('empty');
const closedPort = await freePort();
const stack = await startStack({
  consent: false,
  backends: (url) => [
    { name: 'demo', description: 'Echo, whoami and a slow counter.', http: { url } },
    { name: 'rich', title: 'Rich results', http: { url: rich.url } },
    { name: 'empty', description: 'Offers nothing.', http: { url: empty.url } },
    { name: 'down', description: 'Nothing listens here.', http: { url: `http://127.0.0.1:${closedPort}/mcp` } },
  ],
});
const browser = await launchChromium();
const context = await browser.newContext({ colorScheme: 'light', viewport: { width: 1280, height: 800 } });
t.teardown(async () => {
  await browser.close();
  await stack.close();
  await rich.close();
  await empty.close();
});
const base = stack.proxy.url;
const page = await context.newPage();
const errors: string[] = [];
page.on('pageerror', (e) => errors.push(e.message));
page.on('console', (m) => {
  const text = `${m.text()} @ ${m.location().url}`;
  // The down backend's lists answer 502 (expected, shown on the page); favicon.ico is another part's concern.
  if (m.type() === 'error' && !/favicon|status of 502/.test(text)) errors.push(text);
});
await logIn(page, base, 'alice', '/');
const loaded = (p: Page) => p.waitForSelector('#explorer[data-loaded=true]');
const toolCalls: string[] = [];
page.on('request', (r) => void (r.url().endsWith('/tools/call') && toolCalls.push(r.postData() ?? '')));

t.test('a down backend: the failure once, above hidden sections, and Retry loads them once it is up', async (t) => {
  const listCalls: string[] = [];
  const onRequest = (r: { url(): string }) => {
    if (/\/api\/backends\/down\/(tools|resources|prompts)$/.test(r.url())) listCalls.push(r.url());
  };
  page.on('request', onRequest);
  t.teardown(() => page.off('request', onRequest));
  await page.goto(`${base}/explore/down`);
  await loaded(page);
  t.equal(await page.getAttribute('#explorer', 'data-state'), 'down');
  t.equal(await page.locator('#explorer-down .alert').count(), 1, 'one error, not one per list');
  const alert = (await page.textContent('#explorer-down .alert'))!;
  t.match(alert, 'Could not load the tools, resources and prompts of "down"');
  t.match(alert, /backend "down" is unavailable/);
  t.match(alert, /BACKEND_UNAVAILABLE · HTTP 502/);
  t.equal(await page.locator('.alert').count(), 1, 'no other error on the page');
  t.notOk(await page.isVisible('.sections'), 'the empty sections are hidden');
  const jumpHidden = () =>
    page.locator('nav.jump a[href="#h-tools"]').evaluate((a) => (a as { hidden: boolean }).hidden);
  t.ok(await jumpHidden(), 'and so are their jump links (phones)');
  t.ok(await page.isVisible('#h-history'), 'the history stays');
  t.equal(listCalls.length, 3, 'each list asked once');
  await page.waitForSelector('#health-down[data-state=down]');
  const shots = await screenshots(page, 'explorer-down', async () => {});
  t.equal(shots.length, 4);

  await page.setViewportSize({ width: 1280, height: 800 });
  await page.click('#explorer-down button.retry');
  await page.waitForSelector('#explorer[data-state=down]');
  t.equal(listCalls.length, 6, 'Retry asks for the three lists again');
  t.equal(await page.locator('#explorer-down .alert').count(), 1, 'still down: still one error');

  const up = await startConsoleBackend('rich', closedPort);
  t.teardown(() => up.close());
  await page.click('#explorer-down button.retry');
  await page.waitForSelector('#explorer[data-state=loaded] #tools[data-state=loaded]');
  t.ok(await page.isHidden('#explorer-down'), 'the error is gone');
  t.ok(await page.isVisible('.sections'), 'the sections are back');
  t.notOk(await jumpHidden(), 'and their jump links');
  t.ok((await page.locator('#tools .card.tool').count()) > 0, 'with the tools of the backend, now up');
});

t.test('an empty backend: "this backend has no …", not an error', async (t) => {
  await page.goto(`${base}/explore/empty`);
  await loaded(page);
  for (const id of ['tools', 'resources', 'prompts']) {
    t.equal(await page.getAttribute(`#${id}`, 'data-state'), 'empty');
    t.equal(await page.textContent(`#${id} .empty`), `This backend has no ${id}.`);
    t.equal(await page.textContent(`#count-${id}`), '0');
  }
});

t.test('required fields, JSON tree, raw JSON, image, resource link, tool error', async (t) => {
  await page.goto(`${base}/explore/rich`);
  await loaded(page);
  const card = '#tool-lookup';
  await page.click(`${card} button[type=submit]`);
  t.match(await page.textContent(`${card} .call-status`), 'Not called: city is required');
  t.equal(await page.getAttribute(`${card} input[name=city]`, 'aria-invalid'), 'true', 'the field is marked');
  t.ok(await page.evaluate(`document.activeElement.name === 'city'`), 'and focused');
  t.same(toolCalls, [], 'nothing was sent');
  await page.getByLabel('city').fill('Lisbon');
  await page.keyboard.press('Enter'); // Enter calls
  await page.waitForSelector(`${card} .result .json-tree`);
  t.equal(toolCalls.length, 1);
  t.same(JSON.parse(toolCalls[0]!), { name: 'lookup', arguments: { city: 'Lisbon' } });
  t.equal(await page.getAttribute(`${card} input[name=city]`, 'aria-invalid'), null, 'no longer marked');
  const tree = page.locator(`${card} .result .json-tree`);
  t.equal(await tree.count(), 1, 'one tree: the JSON text equal to structuredContent is not shown twice');
  t.match(await tree.textContent(), /"city": "Lisbon"/);
  t.match(await tree.textContent(), /"high": 21/);
  await page.click(`${card} .json-tree summary >> text=[ 2 items ]`);
  t.notOk(await page.isVisible(`${card} .json-tree li >> text="demo"`), 'a node collapses');
  t.notOk(await page.isVisible(`${card} .raw pre`), 'raw JSON hidden');
  await page.click(`${card} .raw summary`);
  t.match(JSON.parse((await page.textContent(`${card} .raw pre`))!), { structuredContent: { city: 'Lisbon' } });

  await page.click('#tool-picture button[type=submit]');
  const img = page.locator('#tool-picture .result img');
  await img.waitFor();
  t.equal(await img.evaluate((i) => (i as { naturalWidth: number }).naturalWidth), 64, 'the image is decoded');

  await page.click('#tool-link button[type=submit]');
  const link = page.locator('#tool-link .resource-link a');
  await link.waitFor();
  t.equal(await link.getAttribute('href'), 'https://example.com/report.pdf');
  t.equal(await link.textContent(), 'report.pdf');

  await page.click('#tool-broken button[type=submit]');
  await page.waitForSelector('#tool-broken .result.is-error .tool-error');
  t.match(await page.textContent('#tool-broken .result'), 'the tool failed on purpose');
  const shots = await screenshots(page, 'explorer', async () => {});
  t.equal(shots.length, 4);
});

t.test('history: this session, survives a reload, refills a form', async (t) => {
  await page.reload();
  await loaded(page);
  const entries = page.locator('#history li.h-entry');
  t.equal(await entries.count(), 4, 'lookup, picture, link, broken');
  t.match(await entries.nth(0).textContent(), /broken.*tool error/);
  const lookup = page.locator('#history li.h-entry[data-name=lookup]');
  t.match(await lookup.textContent(), /{"city":"Lisbon"}/);
  await lookup.getByRole('button', { name: 'Fill the lookup form with these arguments' }).click();
  t.equal(await page.inputValue('#tool-lookup input[name=city]'), 'Lisbon');
  t.ok(await page.evaluate(`document.activeElement.name === 'city'`), 'focus on the form');
  await page.click('#history-clear');
  t.equal(await entries.count(), 0);
  t.equal(await page.textContent('#history'), 'No calls yet in this browser session.');
});

t.test('a long call: "Calling…" with the elapsed time, then "Done in"', async (t) => {
  await page.goto(`${base}/explore/demo`);
  await loaded(page);
  await page.fill('#tool-slow_count input[name=n]', '3');
  await page.fill('#tool-slow_count input[name=delayMs]', '600');
  await page.click('#tool-slow_count button[type=submit]');
  const status = '#tool-slow_count .call-status';
  await page.waitForSelector(`${status}[data-state=calling] .elapsed`);
  t.ok(await page.isDisabled('#tool-slow_count button[type=submit]'), 'no second call while one runs');
  await page.waitForFunction(
    (sel) => Number.parseFloat((globalThis as any).document.querySelector(sel)?.textContent ?? '0') >= 0.5,
    `${status} .elapsed`,
  );
  t.pass('the elapsed time counts up');
  await page.waitForSelector(`${status}[data-state=done]`, { timeout: 15_000 });
  t.match(await page.textContent(status), /^Done in \d+\.\d\d s$/);
  t.equal(await page.textContent('#tool-slow_count .result pre'), 'counted to 3');
});

t.test('theme toggle and keyboard focus', async (t) => {
  await page.focus('#theme-toggle');
  await page.keyboard.press('Enter');
  t.equal(await page.evaluate('document.documentElement.dataset.theme'), 'dark');
  t.equal(await page.textContent('#theme-toggle'), '☀ Light', 'the button offers the other theme');
  await page.keyboard.press('Tab');
  const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
  t.equal(outline, 'solid', 'the focused element shows a visible outline');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Enter');
  t.equal(await page.evaluate('document.documentElement.dataset.theme'), 'light');
  t.same(errors, [], 'no script errors, no CSP violations');
});
