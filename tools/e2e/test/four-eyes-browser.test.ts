import type { Page } from 'playwright-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { eventually } from '@offramp/kit/testing';
import { screenshot, trackedPage, unlabelledControls, waitForText } from './browser/chromium.ts';
import { signInToConsole, useConsoleSystem } from './browser/console-driver.ts';
import { balance, countries, minusUsdt, newTrader, settledBalance, waitForStatus, processingWithdrawal } from './flows.ts';
import { devSecret, tokenFor, type System } from './system.ts';

/**
 * Four-eyes and console safety in Chromium (FOUR_EYES=true): the approvals queue, the actions legal
 * in a status, the freeze control's current state, times with their timezone.
 */
describe('four-eyes in the operator console (Chromium)', () => {
  let sys: System;
  let baseUrl: string;
  const browser = useConsoleSystem({ env: { FOUR_EYES: 'true' } }, (started) => ({ sys, baseUrl } = started));

  const disabled = (page: Page, name: string) => page.getByRole('button', { name, exact: true }).isDisabled();

  it('when operator A asks to complete a processing withdrawal out of band in the console, then only its legal actions were enabled, nothing moves, A cannot confirm the request; B confirms it in the queue and the money moves once', async () => {
    const c = countries.DO;
    const { trader, before, withdrawalId, debited } = await processingWithdrawal(sys, c);
    const held = await balance(sys, trader);

    const a = await trackedPage(await browser());
    onTestFinished(a.close);
    await signInToConsole(a.page, baseUrl, 'ops-anna', devSecret);
    await a.page.getByLabel('Trader (user id)').fill(trader);
    await a.page.getByRole('button', { name: 'Search', exact: true }).click();
    await a.page
      .locator('#list:not([aria-busy])')
      .getByRole('button', { name: `Open withdrawal ${withdrawalId}` })
      .click();
    await waitForText(a.page, '#detail-status', 'processing');
    // processing: reject and complete are legal; approve and re-dispatch are not.
    expect(await disabled(a.page, 'Approve withdrawal')).toBe(true);
    expect(await disabled(a.page, 'Re-dispatch to PSP')).toBe(true);
    expect(await disabled(a.page, 'Reject withdrawal')).toBe(false);
    expect(await disabled(a.page, 'Mark completed')).toBe(false);
    expect(await a.page.locator('#detail-body').innerText()).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/);

    await a.page.getByLabel('Partner reference (completed out of band)').fill('BANK-REF-UI');
    await a.page.getByLabel(/I vouch for the payout/).check();
    await a.page.getByRole('button', { name: 'Mark completed', exact: true }).click();
    await waitForText(a.page, '#status', 'waits for a second operator');
    const token = tokenFor('ops-ben', { role: 'admin' });
    const approvalId = await eventually('the pending request', async () => {
      const r = await sys.http('GET', '/api/admin/approvals?status=pending&limit=100', { token });
      return (r.body?.data.approvals as { approval_id: string; withdrawal_id: string | null }[] | undefined)?.find(
        (x) => x.withdrawal_id === withdrawalId,
      )?.approval_id;
    });
    expect((await sys.http('GET', `/api/admin/withdrawals/${withdrawalId}`, { token })).body!.data.status).toBe('processing');
    expect(await balance(sys, trader)).toEqual(held);

    // A's queue shows the request with both decisions disabled: a second operator must decide.
    await a.page.getByRole('button', { name: 'Refresh approvals', exact: true }).click();
    const mine = a.page.locator('#approvals:not([aria-busy])').getByRole('button', { name: `Confirm request ${approvalId}` });
    await mine.waitFor({ timeout: 10_000 });
    expect(await mine.isDisabled()).toBe(true);
    expect(await disabled(a.page, `Decline request ${approvalId}`)).toBe(true);
    expect(await a.page.locator('#approvals').innerText()).toContain('operator:ops-anna (you)');
    expect(await unlabelledControls(a.page)).toEqual([]);
    await screenshot(a.page, 'console-four-eyes-requested');

    const b = await trackedPage(await browser());
    onTestFinished(b.close);
    await signInToConsole(b.page, baseUrl, 'ops-ben', devSecret);
    const confirm = b.page.locator('#approvals:not([aria-busy])').getByRole('button', { name: `Confirm request ${approvalId}` });
    await confirm.waitFor({ timeout: 10_000 });
    expect(await confirm.isDisabled()).toBe(false);
    expect(await b.page.locator('#approvals').innerText()).toMatch(/Complete out of band, reference BANK-REF-UI/);
    await confirm.click();
    await waitForText(b.page, '#status', `Request ${approvalId} confirmed.`);
    await screenshot(b.page, 'console-four-eyes-confirmed');

    await waitForStatus(sys, trader, withdrawalId, 'completed');
    expect(await settledBalance(sys, trader)).toEqual({ available: minusUsdt(before.available, debited), held: '0.000000' });
    expect((await sys.ledgerCheck()).ok).toBe(true);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  it('when a country is frozen, then the freeze control shows it; lifting it in the console waits for a second operator and the control still shows frozen', async () => {
    const { page, errors, close } = await trackedPage(await browser());
    onTestFinished(close);
    await signInToConsole(page, baseUrl, 'ops-freeze', devSecret);
    await page.getByLabel('Scope').selectOption('PE');
    await waitForText(page, '#freeze-current', 'Currently: PE open');
    await page.getByLabel('Frozen', { exact: true }).check();
    await page.getByLabel('Reason', { exact: true }).fill('browser e2e: incident');
    await page.getByRole('button', { name: 'Apply freeze setting', exact: true }).click();
    await waitForText(page, '#freeze-current', 'Currently: PE frozen, set by operator:ops-freeze at');
    expect(await page.locator('#freeze-current').innerText()).toMatch(/UTC/);
    expect(await page.getByLabel('Frozen', { exact: true }).isChecked()).toBe(true);

    await page.getByLabel('Open', { exact: true }).check();
    await page.getByLabel('Reason', { exact: true }).fill('browser e2e: incident over');
    await page.getByRole('button', { name: 'Apply freeze setting', exact: true }).click();
    await waitForText(page, '#status', 'waits for a second operator');
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    await waitForText(page, '#freeze-current', 'Currently: PE frozen');
    expect(await page.locator('#approvals').innerText()).toContain('Lift the freeze of PE');
    expect(errors).toEqual([]);
  });
  it('when QA mints a token in the playground with a wrong dev secret, then the error says the dev secret is wrong', async () => {
    const { page, errors, close } = await trackedPage(await browser());
    onTestFinished(close);
    await page.goto(`${baseUrl}/playground`);
    await page.getByRole('heading', { level: 1, name: 'Offramp Dev playground' }).waitFor();
    await page.getByLabel('Dev secret').fill('not-the-dev-secret-at-all');
    await page.getByLabel('Trader id (token subject)').fill(newTrader());
    await page.getByRole('button', { name: 'Mint dev token', exact: true }).click();
    await waitForText(page, '#alert', 'The dev secret is wrong');
    expect(errors).toEqual([]);
  });
});
