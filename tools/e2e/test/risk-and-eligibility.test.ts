import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pspAlfredRpc, riskRpc } from '@offramp/contracts';
import { eventually } from '@offramp/kit/testing';
import { startSystem, type System } from './system.ts';
import {
  addAccount,
  balance,
  clabe,
  countries,
  settledBalance,
  newTrader,
  onboard,
  openSession,
  waitForStatus,
  withdraw,
} from './flows.ts';

describe('risk and eligibility end to end', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => sys?.cleanup());

  const eligibility = (trader: string) => sys.http('GET', '/psp/alfred/eligibility', { trader });
  const dev = (trader: string, path: string, body?: object) =>
    sys.http('POST', `/psp/alfred/__dev/${path}`, { trader, dev: true, ...(body ? { body } : {}) });

  it('when the amount is over the route limit, then POST /session answers 422 LIMIT_EXCEEDED and nothing is held', async () => {
    const trader = newTrader();
    const holder = await onboard(sys, trader, 'BR', '20000');
    const accountId = await addAccount(sys, trader, countries.BR, holder);
    const r = await openSession(sys, trader, countries.BR, accountId, '60000.00');
    expect(r.status, JSON.stringify(r.body)).toBe(422);
    expect(r.body!.error.code).toBe('LIMIT_EXCEEDED');
    expect((await balance(sys, trader)).held).toBe('0.000000');
  });

  it('when the destination is KYT-blocked, then the withdrawal is rejected and refunded, with the reason on the timeline', async () => {
    const trader = newTrader();
    const holder = await onboard(sys, trader, 'MX');
    // A CLABE of its own: the block applies to this destination for every trader.
    const blocked = { ...countries.MX, fields: (h: string) => ({ accountNumber: clabe('00201007123456789'), accountHolderName: h }) };
    const accountId = await addAccount(sys, trader, blocked, holder);
    const destination = await sys.call(pspAlfredRpc.getDestination, { traderId: trader, fiatAccountId: accountId });
    if (!destination.ok) throw new Error(destination.error.message);
    await sys.call(riskRpc.addScreeningEntry, {
      kind: 'destination',
      value: destination.data.destinationFingerprint,
      verdict: 'blocked',
      note: 'e2e',
      operatorId: 'operator:e2e',
    });
    const before = await balance(sys, trader);
    const { withdrawalId } = await withdraw(sys, trader, blocked, accountId);
    const rejected = await waitForStatus(sys, trader, withdrawalId, 'rejected');
    expect(JSON.stringify(rejected.timeline)).toContain('kyt_blocked');
    expect(await settledBalance(sys, trader)).toEqual(before);
    expect(((await sys.emu('GET', '/offramps'))!.offramps as { memo?: string }[]).filter((o) => o.memo === withdrawalId)).toHaveLength(0);
  });

  it('when the trader is KYT-suspicious, then the withdrawal waits in in_review with the funds held', async () => {
    const trader = newTrader();
    const holder = await onboard(sys, trader, 'MX');
    await sys.call(riskRpc.addScreeningEntry, {
      kind: 'trader',
      value: trader,
      verdict: 'suspicious',
      note: 'e2e',
      operatorId: 'operator:e2e',
    });
    const accountId = await addAccount(sys, trader, countries.MX, holder);
    const { withdrawalId, debited } = await withdraw(sys, trader, countries.MX, accountId);
    const review = await waitForStatus(sys, trader, withdrawalId, 'in_review');
    expect(JSON.stringify(review.timeline)).toContain('kyt_suspicious');
    expect((await balance(sys, trader)).held).toBe(debited);
  });

  it('when the holder name does not match the KYC name above the Travel Rule threshold, then in_review', async () => {
    const trader = newTrader();
    await onboard(sys, trader, 'MX', '5000');
    const accountId = await addAccount(sys, trader, countries.MX, 'Someone Else Entirely');
    const { withdrawalId } = await withdraw(sys, trader, countries.MX, accountId, '20000.00');
    const review = await waitForStatus(sys, trader, withdrawalId, 'in_review');
    expect(JSON.stringify(review.timeline)).toContain('travel_rule_name_mismatch');
  });

  it('eligibility: USER_NOT_VERIFIED, ALFRED_CUSTOMER_NOT_PROVISIONED, ALFRED_KYC_PENDING, then eligible', async () => {
    const trader = newTrader();
    const expectCode = async (code: string) => {
      const r = await eligibility(trader);
      expect(r.status, JSON.stringify(r.body)).toBe(403);
      expect(r.body!.error.code).toBe(code);
    };
    await expectCode('USER_NOT_VERIFIED');
    expect((await dev(trader, 'seed-kyc?country=CO')).status).toBe(200);
    await expectCode('ALFRED_CUSTOMER_NOT_PROVISIONED');
    expect((await dev(trader, 'provision-customer')).status).toBe(200);
    await expectCode('ALFRED_KYC_PENDING');
    expect((await dev(trader, 'approve-kyc')).status).toBe(200);
    const ok = await eventually('eligible', async () => {
      const r = await eligibility(trader);
      return r.status === 200 ? r : undefined;
    });
    expect(ok.body!.data).toEqual({ eligible: true, country: 'CO', rails: ['ACH'] });
  });

  it('eligibility: ALFRED_KYC_REJECTED after a FAILED KYC, and the UPDATE_REQUIRED fallback descriptor', async () => {
    const rejected = newTrader();
    expect((await dev(rejected, 'seed-kyc-and-provision?country=AR')).status).toBe(200);
    expect((await dev(rejected, 'emit-kyc-status', { status: 'FAILED' })).status).toBe(200);
    const r = await eventually('rejected', async () => {
      const x = await eligibility(rejected);
      return x.body?.error?.code === 'ALFRED_KYC_REJECTED' ? x : undefined;
    });
    expect(r.status).toBe(403);

    const update = newTrader();
    expect((await dev(update, 'seed-kyc-and-provision?country=DO')).status).toBe(200);
    expect((await dev(update, 'emit-kyc-status', { status: 'UPDATE_REQUIRED' })).status).toBe(200);
    const u = await eventually('update required', async () => {
      const x = await eligibility(update);
      return x.status === 200 ? x : undefined;
    });
    expect(u.body!.data).toMatchObject({
      eligible: false,
      reason: 'KYC_UPDATE_REQUIRED',
      fallback: { fields: expect.any(Array), documents: expect.any(Array) },
    });
  });

  it('eligibility: ALFRED_NOT_AVAILABLE_FOR_COUNTRY for a country without a route', async () => {
    const trader = newTrader();
    const seeded = await dev(trader, 'seed-kyc-and-provision?country=DE');
    if (seeded.status === 200) {
      await dev(trader, 'approve-kyc');
      const r = await eventually('not available', async () => {
        const x = await eligibility(trader);
        return x.body?.error?.code === 'ALFRED_NOT_AVAILABLE_FOR_COUNTRY' ? x : undefined;
      });
      expect(r.status).toBe(403);
    } else {
      // The seed itself refuses a country Alfred does not serve, with the same code.
      expect(seeded.body!.error.code).toBe('ALFRED_NOT_AVAILABLE_FOR_COUNTRY');
    }
  });

  it('when amounts or fields are bad, then 400 naming the field and nothing changes', async () => {
    const trader = newTrader();
    const holder = await onboard(sys, trader, 'MX');
    const accountId = await addAccount(sys, trader, countries.MX, holder);
    const before = await balance(sys, trader);
    for (const amount of ['-5', '10.001', 'abc', '1e5', 'x'.repeat(5000)]) {
      const r = await openSession(sys, trader, countries.MX, accountId, amount);
      expect(r.status, amount).toBe(400);
      expect(JSON.stringify(r.body!.error.details)).toContain('amount');
    }
    const rail = await sys.http('POST', '/psp/alfred/fiat-accounts', { trader, body: { type: 'CARRIER_PIGEON', fiatAccountFields: {} } });
    expect(rail.status).toBe(400);
    const fund = await sys.http('POST', '/psp/alfred/__dev/fund', { trader, dev: true, body: { amount: '1.0000001', currency: 'USDT' } });
    expect(fund.status).toBe(400);
    const initiate = await sys.http('POST', '/psp/alfred/initiate-withdrawal', { trader, body: {} });
    expect(initiate.status).toBe(400);
    expect(JSON.stringify(initiate.body!.error.details)).toContain('session_id');
    expect(await balance(sys, trader)).toEqual(before);
  });
});
