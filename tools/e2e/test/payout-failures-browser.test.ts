import { describe, expect, it, onTestFinished } from 'vitest';
import { screenshot, trackedPage, unlabelledControls, waitForText } from './browser/chromium.ts';
import { signInToConsole, useConsoleSystem } from './browser/console-driver.ts';
import { countries, waitForStatus, processingWithdrawal } from './flows.ts';
import { devSecret, type System } from './system.ts';

/** The payout failure as operators see it in the console (Chromium): the class and Alfred's raw reason. */
describe('payout failures in the operator console (Chromium)', () => {
  let sys: System;
  let baseUrl: string;
  const browser = useConsoleSystem({}, (started) => ({ sys, baseUrl } = started));

  it("when Alfred fails a payout as ACCOUNT_CLOSED, then the console's detail shows the class account_closed with Alfred's raw reason", async () => {
    const c = countries.CO;
    const { trader, sessionId, withdrawalId } = await processingWithdrawal(sys, c);
    const failed = await sys.http('POST', '/psp/alfred/__dev/emit-offramp', {
      trader,
      dev: true,
      body: { session_id: sessionId, scenario: 'failure', failure_reason: 'ACCOUNT_CLOSED' },
    });
    expect(failed.status, JSON.stringify(failed.body)).toBe(200);
    await waitForStatus(sys, trader, withdrawalId, 'rejected');

    const { page, errors, close } = await trackedPage(await browser());
    onTestFinished(close);
    await signInToConsole(page, baseUrl, 'ops-payout-failures', devSecret);
    await page.getByLabel('Trader (user id)').fill(trader);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page
      .locator('#list:not([aria-busy])')
      .getByRole('button', { name: `Open withdrawal ${withdrawalId}` })
      .click();
    await waitForText(page, '#detail-status', 'rejected');
    const detail = await page.locator('#detail').innerText();
    expect(detail).toContain('Payout failure');
    expect(detail).toContain('account_closed (Alfred: ACCOUNT_CLOSED)');
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'console-payout-failure');
    expect(errors).toEqual([]);
  });
});
