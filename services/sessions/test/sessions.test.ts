import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@offramp/kit';
import { sessionsRpc } from '@offramp/contracts';
import { z } from 'zod';
import { startTestStack, type TestStack } from './harness.ts';
import { fiatAccountId, quoteMinor } from './players.ts';

describe('withdrawal sessions', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => stack?.cleanup());

  const request = (
    traderId: string,
    over: Partial<{ amount: string; sourceCurrency: string; paymentRouteId: string; fiatAccountId: string }> = {},
  ) => ({
    traderId,
    amount: '50.00',
    sourceCurrency: 'BRL',
    paymentRouteId: 'BR_PIX',
    walletId: 'MAIN',
    fiatAccountId: fiatAccountId(traderId),
    ...over,
  });
  const sessionsOf = (traderId: string) =>
    stack.rows(z.object({ id: z.string() }), 'select id from sessions where trader_id = ?', [traderId]);

  it('when a trader opens a session, then it keeps the quote, expires in 24 h and has a withdrawal id and the destination', async () => {
    const traderId = await stack.trader(0n);
    const before = Date.now();
    const r = await stack.call(sessionsRpc.createSession, request(traderId));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.data.quote).toMatchObject({ fiatAmount: '50.00', fiatCurrency: 'BRL', cryptoAmountMinor: quoteMinor('50.00') });
    const ttlMs = new Date(r.data.expiresAt).getTime() - before;
    expect(ttlMs).toBeGreaterThan(24 * 3600_000 - 60_000);
    expect(ttlMs).toBeLessThanOrEqual(24 * 3600_000 + 1_000);
    const [row] = await stack.rows(
      z.object({
        status: z.string(),
        withdrawal_id: z.string(),
        crypto_amount_minor: z.string(),
        destination: z.record(z.string(), z.unknown()),
        country: z.string(),
      }),
      'select status, withdrawal_id, crypto_amount_minor::text, destination, country from sessions where id = ?',
      [r.data.sessionId],
    );
    expect(row).toMatchObject({ status: 'open', crypto_amount_minor: '10000000', country: 'BR' });
    expect(row!.withdrawal_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(row!.destination).toMatchObject({
      kycName: 'Ana Souza',
      destinationFingerprint: `fp-${traderId}`,
      country: 'BR',
      fiatAccount: { accountHolderName: 'Ana Souza' },
    });
  });

  it('when the route, the currency or the amount is wrong, then VALIDATION_ERROR names the field and nothing is stored', async () => {
    const traderId = await stack.trader(0n);
    const cases = [
      [{ paymentRouteId: 'XX_NOPE' }, 'paymentRouteId'],
      [{ paymentRouteId: 'US_BANK_USA', sourceCurrency: 'USD' }, 'paymentRouteId'],
      [{ sourceCurrency: 'MXN' }, 'sourceCurrency'],
      [{ amount: '50.001' }, 'amount'],
      [{ amount: '0' }, 'amount'],
    ] as const;
    for (const [over, field] of cases) {
      const r = await stack.call(sessionsRpc.createSession, request(traderId, over));
      expect(r, JSON.stringify(over)).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR', details: { fields: [{ field }] } } });
    }
    expect(await sessionsOf(traderId)).toEqual([]);
  });

  it('when psp-alfred or risk refuse, then their code passes through and nothing is stored', async () => {
    const pending = await stack.trader(0n);
    stack.psp.eligibilityRefusal.set(pending, 'ALFRED_KYC_PENDING');
    expect(await stack.call(sessionsRpc.createSession, request(pending))).toMatchObject({
      ok: false,
      error: { code: 'ALFRED_KYC_PENDING' },
    });

    const mexican = await stack.trader(0n, 'MX');
    expect(await stack.call(sessionsRpc.createSession, request(mexican))).toMatchObject({
      ok: false,
      error: { code: 'ALFRED_NOT_AVAILABLE_FOR_COUNTRY' },
    });

    const other = await stack.trader(0n);
    expect(await stack.call(sessionsRpc.createSession, request(other, { fiatAccountId: 'fa-someone-else' }))).toMatchObject({
      ok: false,
      error: { code: 'FIAT_ACCOUNT_NOT_FOUND' },
    });

    stack.risk.frozen = true;
    try {
      expect(await stack.call(sessionsRpc.createSession, request(other))).toMatchObject({
        ok: false,
        error: { code: 'ALFRED_WITHDRAWALS_FROZEN' },
      });
    } finally {
      stack.risk.frozen = false;
    }
    stack.risk.limitExceeded = true;
    try {
      expect(await stack.call(sessionsRpc.createSession, request(other))).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED' } });
    } finally {
      stack.risk.limitExceeded = false;
    }
    for (const t of [pending, mexican, other]) expect(await sessionsOf(t)).toEqual([]);
  });

  it('when the owner is checked, then the owner gets ok, another trader ALFRED_SESSION_NOT_OWNED and an unknown id SESSION_NOT_FOUND', async () => {
    const owner = await stack.trader(100_000_000n);
    const intruder = await stack.trader(0n);
    const session = await stack.session(owner);
    expect(await stack.call(sessionsRpc.checkSessionOwner, { traderId: owner, sessionId: session.sessionId })).toEqual({
      ok: true,
      data: { sessionId: session.sessionId, withdrawalId: null },
    });
    expect(await stack.call(sessionsRpc.checkSessionOwner, { traderId: intruder, sessionId: session.sessionId })).toMatchObject({
      ok: false,
      error: { code: 'ALFRED_SESSION_NOT_OWNED' },
    });
    expect(await stack.call(sessionsRpc.checkSessionOwner, { traderId: owner, sessionId: newId() })).toMatchObject({
      ok: false,
      error: { code: 'SESSION_NOT_FOUND' },
    });

    const initiated = await stack.initiate(owner, session.sessionId);
    expect(initiated.ok).toBe(true);
    if (!initiated.ok) return;
    expect(await stack.call(sessionsRpc.checkSessionOwner, { traderId: owner, sessionId: session.sessionId })).toEqual({
      ok: true,
      data: { sessionId: session.sessionId, withdrawalId: initiated.data.withdrawalId },
    });
  });
});
