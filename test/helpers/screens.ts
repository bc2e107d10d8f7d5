/**
 * Screenshots of one page at the two widths every page is checked at (desktop, phone), saved
 * under test-output/screenshots/.
 */
import { mkdir } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';

export const SCREENS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

export const SCREENSHOT_DIR = 'test-output/screenshots';

/**
 * Opens `open` (a URL, or steps that navigate) in a fresh context per screen (with `cookies`),
 * runs `check` on each page, and
 * saves `<name>-desktop.png` / `<name>-phone.png`. Returns the saved paths.
 */
export async function atBothWidths(
  browser: Browser,
  open: string | ((page: Page) => Promise<unknown>),
  name: string,
  check: (page: Page, screen: keyof typeof SCREENS) => Promise<void>,
  cookies: Array<{ name: string; value: string; url: string }> = [],
): Promise<string[]> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const saved: string[] = [];
  type Screen = [keyof typeof SCREENS, { width: number; height: number }];
  for (const [screen, viewport] of Object.entries(SCREENS) as Screen[]) {
    const context = await browser.newContext({ viewport, isMobile: screen === 'phone', hasTouch: screen === 'phone' });
    context.setDefaultTimeout(15_000);
    await context.addCookies(cookies);
    try {
      const page = await context.newPage();
      await (typeof open === 'string' ? page.goto(open) : open(page));
      await check(page, screen);
      const path = `${SCREENSHOT_DIR}/${name}-${screen}.png`;
      await page.screenshot({ path, fullPage: true });
      saved.push(path);
    } finally {
      await context.close();
    }
  }
  return saved;
}

/** `a=b; c=d` (a Cookie header) as browser cookies for `url`. */
export function cookiesFor(header: string, url: string): Array<{ name: string; value: string; url: string }> {
  return header
    .split(/;\s*/)
    .filter(Boolean)
    .map((pair) => {
      const i = pair.indexOf('=');
      return { name: pair.slice(0, i), value: pair.slice(i + 1), url };
    });
}
