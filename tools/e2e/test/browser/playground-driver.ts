import type { Page } from 'playwright-core';
import { waitForText } from './chromium.ts';

/**
 * The Dev playground driven as a tester would: by labels and button names, reading what the
 * page says in its live regions. Every step waits for the page's own confirmation.
 */

const button = (page: Page, name: string) => page.getByRole('button', { name, exact: true });

/** Opens the playground, keeps the dev secret and mints a dev token for `trader`. */
export async function signIn(page: Page, baseUrl: string, trader: string, devSecret: string): Promise<void> {
  await page.goto(`${baseUrl}/playground`);
  await page.getByRole('heading', { level: 1, name: 'Offramp Dev playground' }).waitFor();
  await page.getByLabel('Dev secret').fill(devSecret);
  await page.getByLabel('Trader id (token subject)').fill(trader);
  await button(page, 'Mint dev token').click();
  await waitForText(page, '#whoami', `Acting as trader ${trader}`);
}

/** Seed KYC and provision, then approve KYC: ends when the page says the trader is eligible. */
export async function onboardInPage(page: Page, country: string): Promise<string> {
  await page.getByLabel('Country').selectOption(country);
  await button(page, 'Seed KYC and provision').click();
  const seeded = await waitForText(page, '#eligibility', `KYC seeded for ${country} as `);
  await button(page, 'Approve KYC').click();
  await waitForText(page, '#eligibility', `Eligible in ${country}`);
  return seeded.replace(/^.* as (.+?);.*$/, '$1');
}

export async function fundInPage(page: Page, amount: string): Promise<void> {
  await page.getByLabel('Amount (USDT)').fill(amount);
  await button(page, 'Fund balance').click();
  await waitForText(page, '[data-result="fund"]', 'Funded ');
}

/** Fills the form generated from the PIX requirements and adds the account. */
export async function addPixAccount(page: Page, fields: { pixKey: string; documentNumber: string }): Promise<void> {
  await page.getByLabel('Rail').selectOption('PIX');
  await page.locator('#account-fields[data-rail="PIX"]').waitFor();
  await page.getByLabel('pixKey', { exact: true }).fill(fields.pixKey);
  await page.getByLabel('documentNumber', { exact: true }).fill(fields.documentNumber);
  await button(page, 'Add fiat account').click();
  await waitForText(page, '[data-result="account"]', / added \(PIX\)/);
}

/** Create session, then initiate; answers the ids the page shows. */
export async function withdrawInPage(page: Page, routeId: string, amount: string): Promise<{ sessionId: string; withdrawalId: string }> {
  await page.getByLabel('Payment route').selectOption(routeId);
  await page.getByLabel('Amount (fiat)').fill(amount);
  await button(page, 'Create session').click();
  await waitForText(page, '[data-result="session"]', / created: /);
  const sessionId = (await page.locator('#session-id').textContent())!;
  await button(page, 'Initiate withdrawal').click();
  const withdrawalId = await waitForText(page, '#withdrawal-id', /^[0-9a-f-]{36}$/);
  return { sessionId, withdrawalId };
}

export async function emitOfframpInPage(page: Page, scenario: 'success' | 'failure'): Promise<void> {
  await page.getByLabel(scenario === 'success' ? 'Success (FIAT_TRANSFER_COMPLETED)' : 'Failure (QA_SIMULATED_FAILURE)').check();
  await button(page, 'Emit offramp').click();
  await waitForText(page, '[data-result="offramp"]', `Offramp ${scenario} emitted`);
}

export async function withdrawalStatusInPage(page: Page, status: string, timeoutMs = 30_000): Promise<void> {
  await waitForText(page, '#withdrawal-status', status, timeoutMs);
}

/** The USDT balance the page shows once nothing is held any more. */
export async function settledBalanceInPage(page: Page): Promise<{ available: string; held: string }> {
  await waitForText(page, '[data-balance="USDT-held"]', /^0\.0+$/);
  const available = (await page.locator('[data-balance="USDT-available"]').textContent())!;
  const held = (await page.locator('[data-balance="USDT-held"]').textContent())!;
  return { available, held };
}
