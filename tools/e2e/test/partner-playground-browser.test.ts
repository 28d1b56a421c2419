import { describe, expect, it, onTestFinished } from 'vitest';
import { screenshot, trackedPage, unlabelledControls, waitForText } from './browser/chromium.ts';
import { addPixAccount, fundInPage, onboardInPage, signIn, withdrawalStatusInPage } from './browser/playground-driver.ts';
import { balance, newTrader } from './flows.ts';
import { useConsoleSystem } from './browser/console-driver.ts';
import { devSecret, type System } from './system.ts';

/**
 * The Dev playground's partner runner in Chromium (issue 13): an operator creates a partner and
 * links the page's trader, then the page signs a withdrawal request with WebCrypto exactly as a
 * partner's server would, and reads its state with a signed GET.
 */
describe('Dev playground (Chromium): the partner API runner', () => {
  let sys: System;
  let baseUrl: string;
  const browser = useConsoleSystem({}, (started) => ({ sys, baseUrl } = started));

  it('when QA creates a partner, links the trader and sends a signed request from the page, then the withdrawal is made and the query answers its state', async () => {
    const { page, errors, close } = await trackedPage(await browser());
    onTestFinished(close);
    const trader = newTrader();
    await signIn(page, baseUrl, trader, devSecret);
    const kycName = await onboardInPage(page, 'BR');
    await fundInPage(page, '1000');
    await addPixAccount(page, { pixKey: '12345678909', documentNumber: '12345678909' });
    await page.getByLabel('Payment route').selectOption('BR_PIX');
    await page.getByLabel('Amount (fiat)').fill('100');

    const button = (name: string) => page.getByRole('button', { name, exact: true });
    await button('Create partner').click();
    await waitForText(page, '[data-result="partner"]', / created with key pk_/);
    expect(await page.getByLabel('API secret').inputValue()).toMatch(/^[0-9a-f]{64}$/);
    await page.getByLabel('User name').fill(kycName);
    await button('Link this trader').click();
    await waitForText(page, '[data-result="partner"]', `Trader ${trader} linked`);
    await button('Send signed request').click();
    const sent = await waitForText(page, '[data-result="partner"]', / answered 201: withdrawal [0-9a-f-]{36} NEW\./);
    const withdrawalId = /withdrawal ([0-9a-f-]{36})/.exec(sent)![1]!;
    expect(await page.locator('pre[data-curl="partner"]').textContent()).toContain('openssl dgst -sha256 -hmac "$API_SECRET"');
    expect(await unlabelledControls(page)).toEqual([]);

    // The Live panel follows the partner's withdrawal as it does the widget's.
    await withdrawalStatusInPage(page, 'processing');
    await button('Query its state').click();
    await waitForText(page, '[data-result="partner"]', /: PROCESSING \(ours: processing\)/);
    await screenshot(page, 'playground-partner');
    const w = await sys.http('GET', `/psp/alfred/withdrawals/${withdrawalId}`, { trader });
    expect(w.status).toBe(200);
    expect((await balance(sys, trader)).held).toBe(w.body!.data.crypto_amount);
    expect(errors).toEqual([]);
  });
});
