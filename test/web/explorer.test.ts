// The MCP explorer in a real browser (Chromium): generated forms, a tool call and its result,
// a denied tool absent, resources and prompts. Screenshot in test-output/explorer.png.
import t from 'tap';
import { mkdir } from 'node:fs/promises';
import { launchChromium } from '../helpers/chromium.js';
import { startStack } from '../helpers/stack.js';

const stack = await startStack({
  consent: false,
  backends: (url) => [
    {
      name: 'tickets',
      description: 'Demo tickets',
      http: { url },
      tools: [{ match: 'delete_*', allow: { groups: ['admin'] } }, { match: '*' }],
    },
  ],
});
const browser = await launchChromium();
t.teardown(async () => {
  await browser.close();
  await stack.close();
});
const { proxy } = stack;

t.test(
  'bob explores tickets: forms from schemas, a call, a result; the denied tool is absent',
  { timeout: 60_000 },
  async (t) => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${proxy.url}/oauth/login?returnTo=${encodeURIComponent('/explore/tickets')}`);
    await page.fill('input[name=username]', 'bob');
    await page.fill('input[name=password]', 'bob');
    await page.click('button[type=submit]');
    await page.waitForURL(`${proxy.url}/explore/tickets`);
    await page.waitForSelector('#explorer[data-loaded=true]', { timeout: 15_000 });
    t.equal(await page.locator('#tool-delete_everything').count(), 0, 'denied tool not shown');
    t.equal(await page.locator('#tool-echo').count(), 1);
    const form = page.locator('#tool-slow_count form');
    t.equal(await form.locator('input[type=number]').count(), 2, 'number inputs from the schema');
    await page.fill('#tool-echo input[name=text]', 'hello from the explorer');
    await page.click('#tool-echo button[type=submit]');
    await page.waitForSelector('#tool-echo .result pre', { timeout: 10_000 });
    t.equal(await page.textContent('#tool-echo .result pre'), 'hello from the explorer');
    await page.click('#resources button');
    await page.waitForSelector('#resources .result pre', { timeout: 10_000 });
    t.match(await page.textContent('#resources .result pre'), /demo/i);
    await mkdir('test-output', { recursive: true });
    await page.screenshot({ path: 'test-output/explorer.png', fullPage: true });
    t.same(errors, [], 'no script errors');
  },
);
