import { readFile } from 'node:fs/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { minorToDecimal } from '@offramp/contracts';
import { screenshot, trackedPage, unlabelledControls, waitForText } from './browser/chromium.ts';
import { signInToConsole, useConsoleSystem } from './browser/console-driver.ts';
import { addAccount, countries, emitOfframp, newTrader, onboard, waitForStatus, withdraw } from './flows.ts';
import { devSecret, type System } from './system.ts';

/** The operator console's Reports control in Chromium, against the whole system on a local port. */
describe('the reconciliation report in the operator console (Chromium)', () => {
  let sys: System;
  let baseUrl: string;
  const browser = useConsoleSystem({}, (started) => ({ sys, baseUrl } = started));

  async function completed() {
    const c = countries.MX;
    const trader = newTrader();
    const holder = await onboard(sys, trader, c.country);
    const accountId = await addAccount(sys, trader, c, holder);
    const w = await withdraw(sys, trader, c, accountId);
    const transactionId = (await waitForStatus(sys, trader, w.withdrawalId, 'processing')).psp_transaction_id!;
    await emitOfframp(sys, trader, w.sessionId, 'success');
    await waitForStatus(sys, trader, w.withdrawalId, 'completed');
    return { ...w, transactionId };
  }

  it('when an operator picks today (UTC) in Reports, then the page shows the groups and totals with UTC times, and Download CSV saves reconciliation-<date>.csv with a row per withdrawal and the totals', async () => {
    const matched = await completed();
    const mismatched = await completed();
    const alfredAmount = minorToDecimal(BigInt(mismatched.debited.replace('.', '')) + 1_000_000n, 6);
    const patched = await sys.sandbox.app.inject({
      method: 'PATCH',
      url: `/__emu/offramps/${mismatched.transactionId}`,
      payload: { fromAmount: alfredAmount },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const date = new Date().toISOString().slice(0, 10);

    const { page, errors, close } = await trackedPage(await browser());
    onTestFinished(close);
    await signInToConsole(page, baseUrl, 'ops-reports', devSecret);
    await page.getByLabel('Day (UTC)').fill(date);
    await page.getByRole('button', { name: 'Show report', exact: true }).click();
    await waitForText(page, '#report', `Report of ${date} (UTC day)`);
    expect(await page.locator('[data-group="matched"]').innerText()).toContain(matched.withdrawalId);
    expect(await page.locator('[data-group="amount_mismatch"]').innerText()).toContain(mismatched.withdrawalId);
    expect(await page.locator('[data-group="amount_mismatch"]').innerText()).toContain(`${alfredAmount} USDT`);
    expect(await page.locator('#report').innerText()).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/);
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'console-reconciliation-report');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download CSV', exact: true }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`reconciliation-${date}.csv`);
    const csv = await readFile((await download.path())!, 'utf8');
    const [lines, totals] = csv.split('\r\n\r\n') as [string, string];
    const rows = lines.split('\r\n').map((l) => l.split(','));
    expect(rows[0]!.slice(0, 2)).toEqual(['group', 'withdrawal_id']);
    expect(rows.slice(1).map((r) => [r[0], r[1]])).toEqual([
      ['matched', matched.withdrawalId],
      ['amount_mismatch', mismatched.withdrawalId],
    ]);
    expect(
      totals
        .split('\r\n')
        .filter(Boolean)
        .map((l) => l.split(',')),
    ).toEqual([
      ['total_group', 'currency', 'count', 'ledger_amount', 'partner_amount'],
      ['matched', 'USDT', '1', matched.debited, matched.debited],
      ['matched', 'MXN', '1', '1000.00', '1000.00'],
      ['amount_mismatch', 'USDT', '1', mismatched.debited, alfredAmount],
      ['amount_mismatch', 'MXN', '1', '1000.00', '1000.00'],
    ]);
    await waitForText(page, '#status', `Downloaded reconciliation-${date}.csv.`);
    expect(errors).toEqual([]);
  });
});
