import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ledgerRpc, riskRpc } from '@offramp/contracts';
import { eventually } from '@offramp/kit/testing';
import { launchChromium, screenshot, trackedPage, unlabelledControls, waitForText } from './browser/chromium.ts';
import {
  approveInConsole,
  freezeInConsole,
  openExceptionInConsole,
  openInConsole,
  resolveExceptionInConsole,
  signInToConsole,
  syncInConsole,
} from './browser/console-driver.ts';
import {
  addPixAccount,
  emitOfframpInPage,
  fundInPage,
  onboardInPage,
  settledBalanceInPage,
  signIn,
  withdrawInPage,
  withdrawalStatusInPage,
} from './browser/playground-driver.ts';
import {
  addAccount,
  balance,
  countries,
  emitOfframp,
  minusUsdt,
  newTrader,
  onboard,
  settledBalance,
  waitForStatus,
  withdraw,
  withdrawal,
  suspiciousTrader,
} from './flows.ts';
import { devSecret, startNotifier, startSystem, tokenFor, type System } from './system.ts';

/**
 * The operator console and the Dev playground in Debian's Chromium, against the whole system with
 * the gateway listening on a local port. Screenshots go to artifacts/screenshots/.
 */
describe('pages in a browser (Chromium): Dev playground and operator console', () => {
  let sys: System;
  let notifier: Awaited<ReturnType<typeof startNotifier>> | undefined;
  let baseUrl: string;
  // Launched by the first test that needs it, so that a missing Chromium fails every test with its
  // message (a failing beforeAll would only show the tests as skipped).
  let launched: Promise<Browser> | undefined;
  const browser = () => (launched ??= launchChromium());

  beforeAll(async () => {
    sys = await startSystem();
    // The playground's live timeline is the trader's SSE stream, which the notifier feeds.
    notifier = await startNotifier(sys.messaging);
    baseUrl = await sys.gateway.http.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await (await launched?.catch(() => undefined))?.close();
    await notifier?.close();
    await sys?.cleanup();
  });

  it('when QA drives the playground through a BR PIX withdrawal with offramp success, then it is completed and the balance is down by the debit', async () => {
    const { page, errors, close } = await trackedPage(await browser());
    onTestFinished(close);
    const trader = newTrader();
    await signIn(page, baseUrl, trader, devSecret);
    const kycName = await onboardInPage(page, 'BR');
    await fundInPage(page, '1000');
    expect(await page.getByLabel('accountName', { exact: true }).inputValue()).toBe(kycName);
    await addPixAccount(page, { pixKey: '12345678909', documentNumber: '12345678909' });
    expect(await unlabelledControls(page)).toEqual([]);
    const { withdrawalId } = await withdrawInPage(page, 'BR_PIX', '100');
    await withdrawalStatusInPage(page, 'processing');
    await emitOfframpInPage(page, 'success');
    await withdrawalStatusInPage(page, 'completed');
    const shown = await settledBalanceInPage(page);
    await waitForText(page, '#events', 'withdrawal.completed');
    await screenshot(page, 'playground-completed');

    const done = await withdrawal(sys, trader, withdrawalId);
    expect(done.status).toBe('completed');
    expect(done.timeline.map((t) => t.to)).toEqual(expect.arrayContaining(['pending', 'approved', 'processing', 'completed']));
    const debited = (await sys.http('GET', `/psp/alfred/withdrawals/${withdrawalId}`, { trader })).body!.data.crypto_amount as string;
    expect(await settledBalance(sys, trader)).toEqual({ available: minusUsdt('1000.000000', debited), held: '0.000000' });
    expect(shown).toEqual({ available: minusUsdt('1000.000000', debited), held: '0.000000' });
    expect(await page.locator('#events li').evaluateAll((items) => items.map((i) => i.getAttribute('data-event')))).toEqual([
      'withdrawal.processing',
      'withdrawal.completed',
    ]);
    expect(await page.locator('#stream-state').textContent()).toBe('Connected to the event stream.');
    expect(await page.locator('pre[data-curl="offramp"]').textContent()).toContain('/psp/alfred/__dev/emit-offramp');
    expect((await sys.ledgerCheck()).ok).toBe(true);
    expect(errors).toEqual([]);
  });

  it('when QA drives the playground through a BR PIX withdrawal with offramp failure, then it is rejected and the balance is restored to the unit', async () => {
    const { page, errors, close } = await trackedPage(await browser());
    onTestFinished(close);
    const trader = newTrader();
    await signIn(page, baseUrl, trader, devSecret);
    await onboardInPage(page, 'BR');
    await fundInPage(page, '250.5');
    await addPixAccount(page, { pixKey: '12345678909', documentNumber: '12345678909' });
    const { withdrawalId } = await withdrawInPage(page, 'BR_PIX', '100');
    await withdrawalStatusInPage(page, 'processing');
    expect((await balance(sys, trader)).held).not.toBe('0.000000');
    await emitOfframpInPage(page, 'failure');
    await withdrawalStatusInPage(page, 'rejected');
    const shown = await settledBalanceInPage(page);
    await waitForText(page, '#events', 'withdrawal.rejected');
    await screenshot(page, 'playground-rejected');

    const rejected = await withdrawal(sys, trader, withdrawalId);
    expect(rejected.status).toBe('rejected');
    expect(JSON.stringify(rejected.timeline)).toContain('QA_SIMULATED_FAILURE');
    expect(await page.locator('#withdrawal').textContent()).toContain('QA_SIMULATED_FAILURE');
    const debited = (await sys.http('GET', `/psp/alfred/withdrawals/${withdrawalId}`, { trader })).body!.data.crypto_amount as string;
    expect(await page.locator('#events li[data-event="withdrawal.rejected"]').textContent()).toContain(
      `${debited} USDT was returned to your available balance`,
    );
    expect(await settledBalance(sys, trader)).toEqual({ available: '250.500000', held: '0.000000' });
    expect(shown).toEqual({ available: '250.500000', held: '0.000000' });
    expect((await sys.ledgerCheck()).ok).toBe(true);
    expect(errors).toEqual([]);
  });

  it('when an operator reviews a KYT-suspicious withdrawal in the console and approves it, then it leaves the queue and the pipeline sends it to Alfred', async () => {
    const { page, errors, close } = await trackedPage(await browser());
    onTestFinished(close);
    const c = countries.BR;
    const { trader, accountId } = await suspiciousTrader(sys, c, 'browser e2e');
    const { withdrawalId } = await withdraw(sys, trader, c, accountId);
    await waitForStatus(sys, trader, withdrawalId, 'in_review');

    const operator = `ops-${trader.slice(-12)}`;
    await signInToConsole(page, baseUrl, operator, devSecret);
    await openInConsole(page, withdrawalId);
    expect(await page.locator('#risk-reasons').textContent()).toContain('kyt_suspicious');
    expect(await page.locator('#detail-status').textContent()).toBe('in_review');
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'console-review');
    await approveInConsole(page, withdrawalId, 'checked the trader by phone');
    await screenshot(page, 'console-approved');

    const processing = await waitForStatus(sys, trader, withdrawalId, 'processing');
    expect(processing.timeline).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          from: 'in_review',
          to: 'approved',
          actor: `operator:${operator}`,
          reason: 'checked the trader by phone',
        }),
      ]),
    );
    expect(processing.psp_transaction_id).toBeTruthy();
    expect(await page.locator('#queue').textContent()).not.toContain(withdrawalId);
    await syncInConsole(page);
    expect(await page.locator('#sync-result').textContent()).toContain(withdrawalId);
    expect(errors).toEqual([]);
  });

  it('when Alfred pays out an order after its withdrawal was rejected, then the console lists the open exception with its withdrawal and facts, and writing it off resolves it', async () => {
    const { page, errors, close } = await trackedPage(await browser());
    onTestFinished(close);
    const c = countries.BR;
    const trader = newTrader();
    const holder = await onboard(sys, trader, c.country);
    const accountId = await addAccount(sys, trader, c, holder);
    const w = await withdraw(sys, trader, c, accountId);
    const transactionId = (await waitForStatus(sys, trader, w.withdrawalId, 'processing')).psp_transaction_id!;
    await emitOfframp(sys, trader, w.sessionId, 'failure');
    await waitForStatus(sys, trader, w.withdrawalId, 'rejected');
    expect(
      await sys.sendWebhook({ referenceId: transactionId, eventType: 'OFFRAMP', status: 'FIAT_TRANSFER_COMPLETED', metadata: {} }),
    ).toBe(200);
    const token = tokenFor('ops-exceptions', { role: 'admin' });
    const exceptionId = await eventually(`the exception of ${w.withdrawalId}`, async () => {
      const r = await sys.http('GET', '/api/admin/exceptions?status=open&limit=100', { token });
      return (r.body?.data.exceptions as { exception_id: string; withdrawal_id: string }[] | undefined)?.find(
        (e) => e.withdrawal_id === w.withdrawalId,
      )?.exception_id;
    });

    await signInToConsole(page, baseUrl, 'ops-exceptions', devSecret);
    await openExceptionInConsole(page, exceptionId);
    const body = await page.locator('#exception-body').textContent();
    expect(body).toContain('partner_outcome_after_terminal');
    expect(body).toContain(w.withdrawalId);
    expect(body).toContain(transactionId);
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'console-exception');
    await resolveExceptionInConsole(page, 'Write off', 'browser e2e: absorbed after the partner paid out twice');

    const resolved = await sys.http('GET', `/api/admin/exceptions/${exceptionId}`, { token });
    expect(resolved.body!.data).toMatchObject({ status: 'resolved', resolution: 'write_off', outstanding_amount: '0.000000' });
    expect(resolved.body!.data.actions).toEqual([expect.objectContaining({ resolution: 'write_off', operator_id: 'ops-exceptions' })]);
    expect((await sys.call(ledgerRpc.check, {})).ok).toBe(true);
    expect(errors).toEqual([]);
  });

  it('when an operator freezes one country in the console, then risk holds that freeze and the console shows it; unfreezing opens it again', async () => {
    const { page, errors, close } = await trackedPage(await browser());
    onTestFinished(close);
    await signInToConsole(page, baseUrl, 'ops-freeze', devSecret);
    await freezeInConsole(page, 'CO', true, 'browser e2e: bank holiday');
    expect((await sys.call(riskRpc.getFreeze, {})).countries.CO).toMatchObject({
      frozen: true,
      reason: 'browser e2e: bank holiday',
      by: 'operator:ops-freeze',
    });
    expect(await page.locator('[data-freeze="CO"]').textContent()).toBe('frozen');
    await screenshot(page, 'console-freeze');
    await freezeInConsole(page, 'CO', false, 'browser e2e: holiday over');
    expect((await sys.call(riskRpc.getFreeze, {})).countries.CO?.frozen).toBe(false);
    expect((await sys.call(riskRpc.getFreeze, {})).global.frozen).toBe(false);
    expect(errors).toEqual([]);
  });
});
