/** Debian's Chromium, headless, as every browser test runs it (playwright-core drives it). */
import { chromium, type Browser } from 'playwright-core';

export function launchChromium(timeout = 15_000): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    timeout,
  });
}
