import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { stdnum } from 'stdnum';
import { pspAlfredEvents, pspAlfredRpc } from '@offramp/contracts';
import { eventually } from '@offramp/kit/testing';
import { z } from 'zod';
import { expectOk, startTestPspAlfred, type TestPspAlfred } from './harness.ts';

let t: TestPspAlfred;
beforeAll(async () => {
  t = await startTestPspAlfred();
});
afterAll(async () => {
  await t.cleanup();
});

const newTrader = () => `trader-${randomUUID()}`;
const kycRow = async (traderId: string) =>
  (
    await t.rows(
      z.object({ kyc_status: z.string().nullable(), customer_id: z.string().nullable() }),
      'select kyc_status, customer_id from traders where trader_id = ?',
      [traderId],
    )
  )[0];

describe('eligibility', () => {
  it('when the trader has no platform KYC, then USER_NOT_VERIFIED', async () => {
    const traderId = newTrader();
    const result = await t.call(pspAlfredRpc.eligibility, { traderId });
    expect(result).toMatchObject({ ok: false, error: { code: 'USER_NOT_VERIFIED' } });
    expect(await t.call(pspAlfredRpc.supportedOptions, { traderId })).toMatchObject({ ok: false, error: { code: 'USER_NOT_VERIFIED' } });
    expect(await kycRow(traderId)).toBeUndefined();
  });

  it('when the trader is verified for a country without a route, then ALFRED_NOT_AVAILABLE_FOR_COUNTRY', async () => {
    const traderId = newTrader();
    await expectOk(t.call(pspAlfredRpc.devSeedKyc, { traderId, country: 'DE' }));
    expect(await t.call(pspAlfredRpc.eligibility, { traderId })).toMatchObject({
      ok: false,
      error: { code: 'ALFRED_NOT_AVAILABLE_FOR_COUNTRY' },
    });
    expect(await t.call(pspAlfredRpc.devProvisionCustomer, { traderId })).toMatchObject({
      ok: false,
      error: { code: 'ALFRED_NOT_AVAILABLE_FOR_COUNTRY' },
    });
    expect(await t.partnerCalls('POST', '/customers/create')).toHaveLength(0);
  });

  it('when the trader is verified but has no Alfred customer, then ALFRED_CUSTOMER_NOT_PROVISIONED', async () => {
    const traderId = newTrader();
    const seeded = await expectOk(t.call(pspAlfredRpc.devSeedKyc, { traderId, country: 'MX' }));
    expect(seeded).toMatchObject({ country: 'MX', documentType: 'CURP' });
    expect(await t.call(pspAlfredRpc.eligibility, { traderId })).toMatchObject({
      ok: false,
      error: { code: 'ALFRED_CUSTOMER_NOT_PROVISIONED' },
    });
    expect(await kycRow(traderId)).toEqual({ kyc_status: null, customer_id: null });
  });

  it('when the customer is provisioned and KYC submitted, then ALFRED_KYC_PENDING, and the IN_REVIEW webhook is mirrored once', async () => {
    const traderId = newTrader();
    await expectOk(t.call(pspAlfredRpc.devSeedKyc, { traderId, country: 'BR' }));
    const provisioned = await expectOk(t.call(pspAlfredRpc.devProvisionCustomer, { traderId }));
    expect(provisioned).toMatchObject({ kycStatus: 'IN_REVIEW' });
    expect(await t.call(pspAlfredRpc.eligibility, { traderId })).toMatchObject({ ok: false, error: { code: 'ALFRED_KYC_PENDING' } });
    const events = await eventually('the IN_REVIEW webhook', async () => {
      const all = (await t.outboxEvents(pspAlfredEvents.kycStatusChanged.subject)).filter((e) => e.traderId === traderId);
      return all.length > 0 && all;
    });
    expect(events).toEqual([{ traderId, customerId: provisioned.customerId, status: 'IN_REVIEW' }]);
    // Provisioning again goes on from where it is: no second customer, no second submission.
    await expectOk(t.call(pspAlfredRpc.devProvisionCustomer, { traderId }));
    const customers = t.sandbox.state.customers;
    expect([...customers.values()].filter((c) => c.customerId === provisioned.customerId)[0]?.kycSubmissionIds).toHaveLength(1);
  });

  it('when Alfred completes the KYC, then eligible with the country and its rails, and the supported options are its available routes', async () => {
    const { traderId, customerId } = await t.readyTrader('MX');
    expect(await t.call(pspAlfredRpc.eligibility, { traderId })).toEqual({
      ok: true,
      data: { eligible: true, country: 'MX', rails: ['SPEI'] },
    });
    expect(await t.call(pspAlfredRpc.supportedOptions, { traderId })).toEqual({
      ok: true,
      data: { routes: [{ paymentRouteId: 'MX_SPEI', rail: 'SPEI', currency: 'MXN', min: '100.00', max: '200000.00' }] },
    });
    const statuses = (await t.outboxEvents(pspAlfredEvents.kycStatusChanged.subject))
      .filter((e) => e.customerId === customerId)
      .map((e) => e.status);
    expect(statuses).toEqual(['IN_REVIEW', 'COMPLETED']);
    expect(await kycRow(traderId)).toEqual({ kyc_status: 'COMPLETED', customer_id: customerId });
  });

  it('when a US trader is approved, then eligible with BANK_USA listed, but no route is offered while Alfred bug lasts', async () => {
    const { traderId } = await t.readyTrader('US');
    expect(await t.call(pspAlfredRpc.eligibility, { traderId })).toEqual({
      ok: true,
      data: { eligible: true, country: 'US', rails: ['BANK_USA'] },
    });
    expect(await t.call(pspAlfredRpc.supportedOptions, { traderId })).toEqual({ ok: true, data: { routes: [] } });
  });

  it('when Alfred rejects the KYC, then ALFRED_KYC_REJECTED', async () => {
    const traderId = newTrader();
    await expectOk(t.call(pspAlfredRpc.devSeedKyc, { traderId, country: 'AR' }));
    await expectOk(t.call(pspAlfredRpc.devProvisionCustomer, { traderId }));
    const emitted = await expectOk(t.call(pspAlfredRpc.devEmitKycStatus, { traderId, status: 'FAILED' }));
    expect(emitted).toMatchObject({ kycStatus: 'FAILED', settled: 'by_itself' });
    expect(await t.call(pspAlfredRpc.eligibility, { traderId })).toMatchObject({ ok: false, error: { code: 'ALFRED_KYC_REJECTED' } });
  });

  it('when Alfred asks for an update, then eligible false with KYC_UPDATE_REQUIRED and what to supply', async () => {
    const traderId = newTrader();
    await expectOk(t.call(pspAlfredRpc.devSeedKyc, { traderId, country: 'CO' }));
    await expectOk(t.call(pspAlfredRpc.devProvisionCustomer, { traderId }));
    await expectOk(t.call(pspAlfredRpc.devEmitKycStatus, { traderId, status: 'UPDATE_REQUIRED' }));
    expect(await t.call(pspAlfredRpc.eligibility, { traderId })).toEqual({
      ok: true,
      data: {
        eligible: false,
        reason: 'KYC_UPDATE_REQUIRED',
        fallback: { fields: ['address', 'zipCode'], documents: ['PROOF_OF_ADDRESS'] },
      },
    });
    expect(await t.call(pspAlfredRpc.supportedOptions, { traderId })).toEqual({ ok: true, data: { routes: [] } });
  });

  it('when a completed KYC is emitted as FAILED, then a new submission is opened at Alfred and the trader is rejected', async () => {
    const { traderId, customerId } = await t.readyTrader('DO');
    const emitted = await expectOk(t.call(pspAlfredRpc.devEmitKycStatus, { traderId, status: 'FAILED' }));
    expect(emitted).toMatchObject({ kycStatus: 'FAILED' });
    expect(t.sandbox.state.customers.get(customerId)?.kycSubmissionIds).toHaveLength(2);
    expect(await t.call(pspAlfredRpc.eligibility, { traderId })).toMatchObject({ ok: false, error: { code: 'ALFRED_KYC_REJECTED' } });
  });

  it('when the platform KYC is seeded, then the identity has a national id valid for its country', async () => {
    const validators: Record<string, [string, string]> = {
      MX: ['MX', 'curp'],
      BR: ['BR', 'cpf'],
      DO: ['DO', 'cedula'],
      CO: ['CO', 'nit'],
      US: ['US', 'ssn'],
      CN: ['CN', 'ric'],
      CL: ['CL', 'run'],
    };
    for (const [country, [c, name]] of Object.entries(validators)) {
      const traderId = newTrader();
      await expectOk(t.call(pspAlfredRpc.devSeedKyc, { traderId, country }));
      const [row] = await t.rows(
        z.object({ identity: z.object({ documentNumber: z.string(), firstName: z.string(), dateOfBirth: z.string() }) }),
        'select identity from traders where trader_id = ?',
        [traderId],
      );
      expect(stdnum[c]![name]!.validate(row!.identity.documentNumber).isValid, country).toBe(true);
      expect(row!.identity.firstName.length).toBeGreaterThan(0);
      expect(row!.identity.dateOfBirth).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });
});
