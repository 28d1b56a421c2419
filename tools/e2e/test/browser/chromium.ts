import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { eventually } from '@offramp/kit/testing';

/** Debian's Chromium (`apt-get install -y chromium`); never a browser downloaded by Playwright. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches Chromium, or fails saying how to install it: these tests never skip. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `The browser tests need Chromium at ${chromiumPath} and it is not there. Install Debian's package: ` +
        '`apt-get update && apt-get install -y chromium` (or set CHROMIUM_PATH to a Chromium binary).',
    );
  }
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}

const screenshotDir = fileURLToPath(new URL('../../../../artifacts/screenshots/', import.meta.url));

/** A full-page screenshot under artifacts/screenshots/ (gitignored), kept as a test artifact. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const path = `${screenshotDir}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * A new page in a fresh context (its own localStorage) that remembers its uncaught script errors,
 * so that a test can assert the page's own code never threw; `close` ends its polling and streams.
 */
export async function trackedPage(browser: Browser): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  return { page, errors, close: () => context.close() };
}

/**
 * Waits until `selector` shows `text`; fails at once with the page's alert when one appears first
 * (a refused request says why there), else after `timeoutMs` naming what it saw last.
 */
export async function waitForText(page: Page, selector: string, text: string | RegExp, timeoutMs = 30_000): Promise<string> {
  const matches = (value: string) => (typeof text === 'string' ? value.includes(text) : text.test(value));
  let last = '';
  return eventually(
    () => `${selector} to show ${String(text)}; it showed: ${last.slice(0, 500)}`,
    async () => {
      last = (await page.locator(selector).first().textContent({ timeout: 100 }).catch(() => null)) ?? '';
      if (matches(last)) return last;
      const alert = ((await page.locator('#alert').textContent()) ?? '').trim();
      if (alert) throw new Error(`waiting for ${selector} to show ${String(text)}, the page said: ${alert}`);
      return undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** Form controls without a label (by id or name), for an accessibility check of the rendered page. */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return page.$$eval('input, select, textarea', (controls) =>
    controls
      .filter((c) => (c as unknown as { labels: { length: number } | null }).labels?.length === 0 && !c.getAttribute('aria-label') && !c.getAttribute('aria-labelledby'))
      .map((c) => c.id || c.getAttribute('name') || c.outerHTML.slice(0, 80)),
  );
}
