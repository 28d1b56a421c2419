import {
  accessSync,
  constants,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  renameSync,
  statSync,
} from 'node:fs';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createBrotliDecompress } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { eventually } from '@offramp/kit/testing';
import { watchConformance } from './conformance.ts';

/** Where the browser tests' Chromium came from (the first of these that has one). */
export type ChromiumSource = { path: string; from: 'CHROMIUM_PATH' | 'PATH' | '@sparticuz/chromium' };

const namesOnPath = ['chromium', 'chromium-browser'];

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The first `chromium`, else the first `chromium-browser`, in the directories of `PATH`. */
function onPath(pathVariable: string | undefined): string | undefined {
  const dirs = (pathVariable ?? '').split(delimiter).filter(Boolean);
  for (const name of namesOnPath) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

/**
 * The Chromium (headless shell) that the npm package `@sparticuz/chromium` ships inside itself as a
 * brotli file: unpacked once per package version into `node_modules/.cache/offramp-chromium/`
 * (nothing is downloaded). Unpacked to a file of its own and renamed into place, so that concurrent
 * test processes, or a run killed half way, never leave or launch a truncated binary.
 */
async function fromNpmPackage(): Promise<string> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `@sparticuz/chromium ships a Chromium for linux x64 only (this is ${process.platform} ${process.arch}): ` +
        'set CHROMIUM_PATH to a Chromium binary or put `chromium` on PATH.',
    );
  }
  const packageDir = resolve(dirname(createRequire(import.meta.url).resolve('@sparticuz/chromium')), '..');
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const cacheDir = resolve(packageDir, '..', '..', '.cache', 'offramp-chromium', version);
  const binary = join(cacheDir, 'chromium');
  if (!existsSync(binary)) {
    mkdirSync(cacheDir, { recursive: true });
    const partial = `${binary}.${process.pid}-${randomUUID()}.partial`;
    try {
      await pipeline(
        createReadStream(join(packageDir, 'bin', 'chromium.br')),
        createBrotliDecompress(),
        createWriteStream(partial, { mode: 0o755 }),
      );
      renameSync(partial, binary);
    } finally {
      rmSync(partial, { force: true });
    }
  }
  return binary;
}

/**
 * The browser for the browser tests, in this order: `CHROMIUM_PATH`; a `chromium` (or
 * `chromium-browser`) on `PATH`, such as Debian's; else the one inside the `@sparticuz/chromium`
 * devDependency, so that `npm install` alone is enough. Playwright never downloads a browser.
 */
export async function findChromium(env: NodeJS.ProcessEnv = process.env): Promise<ChromiumSource> {
  const configured = env.CHROMIUM_PATH;
  if (configured) {
    if (!isExecutableFile(configured)) throw new Error(`CHROMIUM_PATH is ${configured}, which is not an executable file.`);
    return { path: configured, from: 'CHROMIUM_PATH' };
  }
  const found = onPath(env.PATH);
  if (found) return { path: found, from: 'PATH' };
  return { path: await fromNpmPackage(), from: '@sparticuz/chromium' };
}

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

/** Launches Chromium (see `findChromium`), or fails saying which binary would not start: these tests never skip. */
export async function launchChromium(): Promise<Browser> {
  const { path, from } = await findChromium();
  try {
    return await chromium.launch({ executablePath: path, args: chromiumArgs });
  } catch (err) {
    throw new Error(
      `Chromium ${path} (from ${from}) did not start: ${(err as Error).message}\n` +
        '(a shared library it needs may be missing: `ldd` on the binary names it; or set CHROMIUM_PATH to another Chromium)',
      { cause: err },
    );
  }
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
 * Every exchange the page has with a gateway is checked against the gateway's OpenAPI document
 * (`watchConformance`); `close` throws the mismatches, so a test that registers it with
 * `onTestFinished` fails when its page got an answer the document does not describe.
 */
export async function trackedPage(browser: Browser): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const conformance = watchConformance(page);
  return {
    page,
    errors,
    async close() {
      const mismatches = await conformance.settled();
      await context.close();
      if (mismatches.length > 0)
        throw new Error(`The page's exchanges with the gateway disagree with its OpenAPI document:\n${mismatches.join('\n')}`);
    },
  };
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
      last =
        (await page
          .locator(selector)
          .first()
          .textContent({ timeout: 100 })
          .catch(() => null)) ?? '';
      if (matches(last)) return last;
      const alert = ((await page.locator('#alert').textContent()) ?? '').trim();
      // Waiting for the alert itself: it may have appeared between the two reads.
      if (alert && selector === '#alert' && matches(alert)) return alert;
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
      .filter(
        (c) =>
          (c as unknown as { labels: { length: number } | null }).labels?.length === 0 &&
          !c.getAttribute('aria-label') &&
          !c.getAttribute('aria-labelledby'),
      )
      .map((c) => c.id || c.getAttribute('name') || c.outerHTML.slice(0, 80)),
  );
}
