import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startSystem, type System } from '../system.ts';
import { launchChromium, waitForText } from './chromium.ts';

/** The operator console driven by labels and button names, waiting for the page's confirmations. */

const button = (page: Page, name: string) => page.getByRole('button', { name, exact: true });

/** Opens the console and mints an operator (admin) dev token; the queue loads with it. */
export async function signInToConsole(page: Page, baseUrl: string, operatorId: string, devSecret: string): Promise<void> {
  await page.goto(`${baseUrl}/console`);
  await page.getByRole('heading', { level: 1, name: 'Offramp operator console' }).waitFor();
  await page.locator('summary', { hasText: 'Mint a dev token' }).click();
  await page.getByLabel('Operator id').fill(operatorId);
  await page.getByLabel('Dev secret').fill(devSecret);
  await button(page, 'Mint dev token').click();
  await waitForText(page, '#whoami', `Token for ${operatorId}, operator (admin)`);
}

/** Finds the withdrawal in the review queue and opens its detail. */
export async function openInConsole(page: Page, withdrawalId: string): Promise<void> {
  await button(page, 'Refresh queue').click();
  // The queue is aria-busy while a load is in flight; the button to press is the one that stays.
  const open = page.locator('#queue:not([aria-busy])').getByRole('button', { name: `Open withdrawal ${withdrawalId}` });
  await open.waitFor({ timeout: 10_000 });
  // By keyboard, as an operator without a mouse would; the detail's heading takes the focus.
  await open.focus();
  await page.keyboard.press('Enter');
  await waitForText(page, '#detail-heading', withdrawalId);
  if ((await page.locator('#detail-heading:focus').count()) !== 1)
    throw new Error('after opening a withdrawal its heading does not have the focus');
}

export async function approveInConsole(page: Page, withdrawalId: string, note: string): Promise<void> {
  await page.getByLabel('Approval note (optional)').fill(note);
  await button(page, 'Approve withdrawal').click();
  await waitForText(page, '#detail-status', 'approved');
  // The queue and the list reload after an action.
  await page.locator('#queue:not([aria-busy])').waitFor();
}

export async function freezeInConsole(page: Page, country: string, frozen: boolean, reason: string): Promise<void> {
  await page.getByLabel('Scope').selectOption(country);
  await page.getByLabel(frozen ? 'Frozen' : 'Open', { exact: true }).check();
  await page.getByLabel('Reason', { exact: true }).fill(reason);
  await button(page, 'Apply freeze setting').click();
  await waitForText(page, `[data-freeze="${country}"]`, frozen ? 'frozen' : 'open');
}

/** Reconciliation now: ends when the page reports the sync. */
export async function syncInConsole(page: Page): Promise<void> {
  await button(page, 'Sync statuses').click();
  await waitForText(page, '#sync-result', /^Synced \d+, failed \d+\./);
}

/** Lists the open exceptions and opens one by its id (its detail's heading takes the focus). */
export async function openExceptionInConsole(page: Page, exceptionId: string): Promise<void> {
  await page.locator('#exception-status-filter').selectOption('open');
  await button(page, 'Show exceptions').click();
  const open = page.locator('#exceptions').getByRole('button', { name: `Open exception ${exceptionId}` });
  await open.waitFor({ timeout: 10_000 });
  await open.click();
  await waitForText(page, '#exception-heading', exceptionId);
}

/** Resolves the open exception with a note, by the resolution's button; ends when the page reports it. */
export async function resolveExceptionInConsole(page: Page, label: string, note: string): Promise<void> {
  await page.locator('#resolve-note').fill(note);
  await button(page, label).click();
  await waitForText(page, '#status', `${label} of exception`);
}

/**
 * The whole system for a console test in Chromium, its hooks registered in the calling describe:
 * started with the gateway on a local port before the tests (handed to `onStarted`), stopped after
 * them with the browser. Chromium is launched by the first test that asks for it, so that a missing
 * Chromium fails every test with its message (a failing beforeAll would only show them as skipped).
 */
export function useConsoleSystem(
  opts: Parameters<typeof startSystem>[0],
  onStarted: (started: { sys: System; baseUrl: string }) => void,
): () => Promise<Browser> {
  let sys: System | undefined;
  let launched: Promise<Browser> | undefined;
  beforeAll(async () => {
    sys = await startSystem(opts);
    onStarted({ sys, baseUrl: await sys.gateway.http.app.listen({ port: 0, host: '127.0.0.1' }) });
  });
  afterAll(async () => {
    await (await launched?.catch(() => undefined))?.close();
    await sys?.cleanup();
  });
  return () => (launched ??= launchChromium());
}
