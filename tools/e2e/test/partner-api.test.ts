import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { newId, queryRow, queryRows } from '@offramp/kit';
import { startSystem, tokenFor, type System } from './system.ts';
import { balance, countries, emitOfframp, newTrader, traderWithAccount, waitForStatus } from './flows.ts';
import {
  hmacHex,
  partnerRequestBody,
  sessionOfPartnerRequest,
  signedPartnerPost,
  signedPartnerQuery,
  type Partner,
} from './partner-flows.ts';

/**
 * The partner API over HTTP against the whole system (issue 13): operators register a partner and
 * link a trader; the partner's signed requests run the widget's pipeline; every refusal leaves the
 * trader's money and withdrawals as they were.
 */

const operator = tokenFor('op-partners', { role: 'admin' });

describe('partner API: signed withdrawal requests and their state', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => sys?.cleanup());

  const admin = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) =>
    sys.http(method, `/api/admin${path}`, { token: operator, ...(body === undefined ? {} : { body }) });

  async function createPartner(name = `partner-${newId()}`): Promise<Partner> {
    const r = await admin('POST', '/partners', { name });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body!.data as Partner;
  }

  async function link(p: Partner, traderId: string, userName: string) {
    const r = await admin('POST', `/partners/${p.partner_id}/traders`, { trader_id: traderId, user_name: userName });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body!.data.traders).toContainEqual({ trader_id: traderId, user_name: userName, linked_at: expect.any(String) });
  }

  const post = (p: Pick<Partner, 'api_key_id' | 'api_secret'>, body: unknown, opts: { hash?: string; raw?: string } = {}) =>
    signedPartnerPost(sys, p, body, opts);
  const query = (p: Pick<Partner, 'api_key_id' | 'api_secret'>, withdrawRequestId: string) => signedPartnerQuery(sys, p, withdrawRequestId);
  const requestFor = partnerRequestBody;

  /** A BR trader with a PIX account, funded with 1000 USDT, linked to a new partner. */
  async function linkedTrader() {
    const t = await traderWithAccount(sys, countries.BR);
    const partner = await createPartner();
    await link(partner, t.trader, t.holder);
    return { ...t, partner };
  }

  const withdrawalsOf = async (trader: string) => {
    const r = await sys.http('GET', '/psp/alfred/withdrawals', { trader });
    expect(r.status).toBe(200);
    return r.body!.data.withdrawals as { withdrawal_id: string; status: string }[];
  };

  /** Nothing held and no withdrawal: the trader's money as the onboarding left it. */
  async function expectNothingHappened(trader: string) {
    await sys.quiet();
    expect(await balance(sys, trader)).toEqual({ available: '1000.000000', held: '0.000000' });
    expect(await withdrawalsOf(trader)).toEqual([]);
  }

  const sessionOf = (withdrawRequestId: string) => sessionOfPartnerRequest(sys, withdrawRequestId);

  it('when a linked trader’s signed request is made and Alfred pays out, then 201 with the conversion, the withdrawal completes and the query says COMPLETED', async () => {
    const t = await linkedTrader();
    const body = requestFor(t);
    const created = await post(t.partner, body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const answer = created.body!.data;
    expect(answer).toMatchObject({
      withdrawRequestId: body.withdrawRequestId,
      withdrawRequestDate: body.withdrawRequestDate,
      userId: t.trader,
      userName: t.holder,
      withdrawalState: 'NEW',
      conversion: { fiatAmount: '100.00', fiatCurrency: 'BRL', currency: 'USDT' },
    });
    expect(answer.conversion.cryptoAmount).toMatch(/^[0-9]+\.[0-9]{6}$/);
    expect(Number.isNaN(Date.parse(answer.conversion.quotedAt))).toBe(false);
    // The USDT of the conversion is what is held.
    expect(await balance(sys, t.trader)).toMatchObject({ held: answer.conversion.cryptoAmount });

    const withdrawalId = answer.operationNo as string;
    await waitForStatus(sys, t.trader, withdrawalId, 'processing');
    const processing = await query(t.partner, body.withdrawRequestId);
    expect(processing.status, JSON.stringify(processing.body)).toBe(200);
    expect(processing.body!.data).toMatchObject({ withdrawalState: 'PROCESSING', status: 'processing', finishTime: null });

    await emitOfframp(sys, t.trader, await sessionOf(body.withdrawRequestId), 'success');
    await waitForStatus(sys, t.trader, withdrawalId, 'completed');
    const completed = await query(t.partner, body.withdrawRequestId);
    expect(completed.status).toBe(200);
    expect(completed.body!.data).toMatchObject({
      withdrawRequestId: body.withdrawRequestId,
      withdrawalState: 'COMPLETED',
      status: 'completed',
      amount: answer.conversion.cryptoAmount,
      currency: 'USDT',
      fiatAmount: '100.00',
      fiatCurrency: 'BRL',
      userId: t.trader,
      userName: t.holder,
      operationNo: withdrawalId,
      failure: null,
    });
    expect(completed.body!.data.finishTime).toBeGreaterThanOrEqual(completed.body!.data.withdrawTime);
    // The withdrawal joins to its request through its session (what the partner webhooks rely on).
    const joined = await queryRow(
      sys.databases.sessions.em.fork(),
      z.object({ withdraw_request_id: z.string() }),
      'select r.withdraw_request_id from withdrawals w join partner_requests r on r.session_id = w.session_id where w.id = ?',
      [withdrawalId],
    );
    expect(joined?.withdraw_request_id).toBe(body.withdrawRequestId);
  });

  it('when the hash is base64 and the amount a JSON number, then the request is accepted as the same request as its decimal-string twin', async () => {
    const t = await linkedTrader();
    const body = requestFor(t, { fiatAmount: 150 });
    const raw = JSON.stringify(body);
    const created = await post(t.partner, body, { hash: createHmac('sha256', t.partner.api_secret).update(raw).digest('base64') });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body!.data.conversion.fiatAmount).toBe('150.00');
    // The same request with the amount as a string and the keys in another order: the same request.
    const twin = Object.fromEntries(Object.entries({ ...body, fiatAmount: '150.00' }).reverse());
    const again = await post(t.partner, twin);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body!.data.operationNo).toBe(created.body!.data.operationNo);
  });

  describe('refusals: each with its code, nothing held, no withdrawal', () => {
    it('when the x-api-key is unknown, then 401 PARTNER_UNAUTHORIZED', async () => {
      const t = await linkedTrader();
      const r = await post({ api_key_id: 'pk_unknown', api_secret: t.partner.api_secret }, requestFor(t));
      expect(r.status).toBe(401);
      expect(r.body!.error.code).toBe('PARTNER_UNAUTHORIZED');
      await expectNothingHappened(t.trader);
    });

    it('when the hash is not the HMAC of the body (another body, another secret, missing), then 401 PARTNER_SIGNATURE_INVALID', async () => {
      const t = await linkedTrader();
      const body = requestFor(t);
      const otherBody = await post(t.partner, body, {
        hash: hmacHex(t.partner.api_secret, JSON.stringify({ ...body, fiatAmount: '1.00' })),
      });
      const otherSecret = await post(t.partner, body, { hash: hmacHex('0'.repeat(64), JSON.stringify(body)) });
      // The hash of the pretty-printed body does not sign the compact one: the exact bytes are signed.
      const reformatted = await post(t.partner, body, {
        raw: JSON.stringify(body),
        hash: hmacHex(t.partner.api_secret, JSON.stringify(body, null, 2)),
      });
      const missing = await post(t.partner, body, { hash: '' });
      for (const r of [otherBody, otherSecret, reformatted, missing]) {
        expect(r.status, JSON.stringify(r.body)).toBe(401);
        expect(r.body!.error.code).toBe('PARTNER_SIGNATURE_INVALID');
      }
      await expectNothingHappened(t.trader);
    });

    it('when the partner is disabled, then 403 PARTNER_DISABLED; enabled again, the request is accepted', async () => {
      const t = await linkedTrader();
      const disabled = await admin('POST', `/partners/${t.partner.partner_id}/disable`);
      expect(disabled.status).toBe(200);
      expect(disabled.body!.data.status).toBe('disabled');
      const body = requestFor(t);
      const r = await post(t.partner, body);
      expect(r.status).toBe(403);
      expect(r.body!.error.code).toBe('PARTNER_DISABLED');
      await expectNothingHappened(t.trader);
      expect((await admin('POST', `/partners/${t.partner.partner_id}/enable`)).status).toBe(200);
      const accepted = await post(t.partner, { ...body, withdrawRequestDate: Date.now() });
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
    });

    it('when the request date is older or newer than the window (5 min), then 401 PARTNER_REQUEST_STALE', async () => {
      const t = await linkedTrader();
      const stale = await post(t.partner, requestFor(t, { withdrawRequestDate: Date.now() - 6 * 60_000 }));
      const future = await post(t.partner, requestFor(t, { withdrawRequestDate: Date.now() + 6 * 60_000 }));
      for (const r of [stale, future]) {
        expect(r.status, JSON.stringify(r.body)).toBe(401);
        expect(r.body!.error.code).toBe('PARTNER_REQUEST_STALE');
      }
      await expectNothingHappened(t.trader);
    });

    it('when the user is not linked to the partner (never, or unlinked), then 403 PARTNER_USER_NOT_LINKED', async () => {
      const t = await linkedTrader();
      const stranger = await createPartner();
      const never = await post(stranger, requestFor(t));
      expect(never.status).toBe(403);
      expect(never.body!.error.code).toBe('PARTNER_USER_NOT_LINKED');
      const unlinked = await admin('DELETE', `/partners/${t.partner.partner_id}/traders/${t.trader}`);
      expect(unlinked.status, JSON.stringify(unlinked.body)).toBe(200);
      expect(unlinked.body!.data.traders).toEqual([]);
      const after = await post(t.partner, requestFor(t));
      expect(after.status).toBe(403);
      expect(after.body!.error.code).toBe('PARTNER_USER_NOT_LINKED');
      await expectNothingHappened(t.trader);
    });

    it('when the fiat account is not the user’s, then 404 FIAT_ACCOUNT_NOT_FOUND', async () => {
      const t = await linkedTrader();
      const other = await traderWithAccount(sys, countries.BR);
      const r = await post(t.partner, requestFor(t, { fiatAccountId: other.accountId }));
      expect(r.status, JSON.stringify(r.body)).toBe(404);
      expect(r.body!.error.code).toBe('FIAT_ACCOUNT_NOT_FOUND');
      await expectNothingHappened(t.trader);
      await expectNothingHappened(other.trader);
    });

    it('when the linked user may not withdraw (no KYC at Alfred) or the amount is over the route’s limit, then the widget’s codes and nothing held', async () => {
      const stranger = newTrader();
      const partner = await createPartner();
      await link(partner, stranger, 'Nobody Yet');
      const notVerified = await post(partner, requestFor({ trader: stranger, holder: 'Nobody Yet', accountId: 'fa-none' }));
      expect(notVerified.status, JSON.stringify(notVerified.body)).toBe(403);
      expect(['USER_NOT_VERIFIED', 'ALFRED_CUSTOMER_NOT_PROVISIONED', 'ALFRED_KYC_PENDING']).toContain(notVerified.body!.error.code);
      expect(await withdrawalsOf(stranger)).toEqual([]);
      const t = await linkedTrader();
      const tooMuch = await post(t.partner, requestFor(t, { fiatAmount: '60000.00' }));
      expect(tooMuch.status, JSON.stringify(tooMuch.body)).toBe(422);
      expect(tooMuch.body!.error.code).toBe('LIMIT_EXCEEDED');
      await expectNothingHappened(t.trader);
    });

    it('when the amount is more than the user holds, then 409 INSUFFICIENT_FUNDS (the widget’s code) and nothing held', async () => {
      const t = await linkedTrader();
      const r = await post(t.partner, requestFor(t, { fiatAmount: '9000.00' }));
      expect(r.status, JSON.stringify(r.body)).toBe(409);
      expect(r.body!.error.code).toBe('INSUFFICIENT_FUNDS');
      await expectNothingHappened(t.trader);
    });

    it('when another partner’s withdrawRequestId is used, then 409 PARTNER_REQUEST_ID_TAKEN, and its query is 404 PARTNER_REQUEST_NOT_FOUND', async () => {
      const first = await linkedTrader();
      const body = requestFor(first);
      expect((await post(first.partner, body)).status).toBe(201);
      const second = await linkedTrader();
      const taken = await post(second.partner, requestFor(second, { withdrawRequestId: body.withdrawRequestId }));
      expect(taken.status, JSON.stringify(taken.body)).toBe(409);
      expect(taken.body!.error.code).toBe('PARTNER_REQUEST_ID_TAKEN');
      // The fiat account is checked before the id: someone else's account under a taken id is 404.
      const both = await post(
        second.partner,
        requestFor(second, { withdrawRequestId: body.withdrawRequestId, fiatAccountId: first.accountId }),
      );
      expect(both.status, JSON.stringify(both.body)).toBe(404);
      expect(both.body!.error.code).toBe('FIAT_ACCOUNT_NOT_FOUND');
      await expectNothingHappened(second.trader);
      const foreign = await query(second.partner, body.withdrawRequestId);
      expect(foreign.status).toBe(404);
      expect(foreign.body!.error.code).toBe('PARTNER_REQUEST_NOT_FOUND');
      const unknown = await query(second.partner, `wr-${newId()}`);
      expect(unknown.status).toBe(404);
      expect(unknown.body!.error.code).toBe('PARTNER_REQUEST_NOT_FOUND');
    });

    it('when the query is signed over another path, then 401 PARTNER_SIGNATURE_INVALID', async () => {
      const t = await linkedTrader();
      const r = await sys.http('GET', '/partner/v1/withdrawal-requests/wr-1', {
        headers: {
          'x-api-key': t.partner.api_key_id,
          'x-payload-hash': hmacHex(t.partner.api_secret, '/partner/v1/withdrawal-requests/wr-2'),
        },
      });
      expect(r.status).toBe(401);
      expect(r.body!.error.code).toBe('PARTNER_SIGNATURE_INVALID');
    });

    it('when a signed body is invalid, then 400 VALIDATION_ERROR naming the field, after the signature was checked', async () => {
      const t = await linkedTrader();
      const body = requestFor(t, { currency: 'BTC', userName: '' });
      const signed = await post(t.partner, body);
      expect(signed.status).toBe(400);
      const fields = (signed.body!.error.details.fields as { field: string }[]).map((f) => f.field).sort();
      expect(fields).toEqual(['currency', 'userName']);
      // Unsigned, the same body is refused for its signature first.
      const unsigned = await post(t.partner, body, { hash: '0'.repeat(64) });
      expect(unsigned.status).toBe(401);
      await expectNothingHappened(t.trader);
    });
  });

  describe('idempotency: one withdrawal per withdrawRequestId', () => {
    it('when the same request is sent twice, then 201 then 200 with the same request and one withdrawal', async () => {
      const t = await linkedTrader();
      const body = requestFor(t);
      const first = await post(t.partner, body);
      const second = await post(t.partner, body);
      expect(first.status, JSON.stringify(first.body)).toBe(201);
      expect(second.status, JSON.stringify(second.body)).toBe(200);
      expect(second.body!.data.operationNo).toBe(first.body!.data.operationNo);
      expect(second.body!.data.conversion).toEqual(first.body!.data.conversion);
      expect(second.body!.data.createdAt).toBe(first.body!.data.createdAt);
      await sys.quiet();
      expect((await withdrawalsOf(t.trader)).map((w) => w.withdrawal_id)).toEqual([first.body!.data.operationNo]);
      expect((await balance(sys, t.trader)).held).toBe(first.body!.data.conversion.cryptoAmount);
    });

    it('when the same request is sent 20 times at once, then one 201, nineteen 200, one session, one withdrawal and one hold', async () => {
      const t = await linkedTrader();
      const body = requestFor(t);
      const answers = await Promise.all(Array.from({ length: 20 }, () => post(t.partner, body)));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses, JSON.stringify(answers.map((a) => a.body))).toEqual([...Array(19).fill(200), 201].sort());
      expect(new Set(answers.map((a) => a.body!.data.operationNo)).size).toBe(1);
      await sys.quiet();
      const withdrawals = await withdrawalsOf(t.trader);
      expect(withdrawals.map((w) => w.withdrawal_id)).toEqual([answers[0]!.body!.data.operationNo]);
      const sessions = await queryRows(
        sys.databases.sessions.em.fork(),
        z.object({ id: z.string() }),
        'select id from sessions where trader_id = ?',
        [t.trader],
      );
      expect(sessions).toHaveLength(1);
      const b = await balance(sys, t.trader);
      expect(b.held).toBe(answers[0]!.body!.data.conversion.cryptoAmount);
    });

    it('when the same withdrawRequestId comes with another body, then 409 PARTNER_REQUEST_CONFLICT and nothing more is held', async () => {
      const t = await linkedTrader();
      const body = requestFor(t);
      const first = await post(t.partner, body);
      expect(first.status).toBe(201);
      const conflict = await post(t.partner, { ...body, fiatAmount: '120.00' });
      expect(conflict.status, JSON.stringify(conflict.body)).toBe(409);
      expect(conflict.body!.error.code).toBe('PARTNER_REQUEST_CONFLICT');
      await sys.quiet();
      expect(await withdrawalsOf(t.trader)).toHaveLength(1);
      expect((await balance(sys, t.trader)).held).toBe(first.body!.data.conversion.cryptoAmount);
    });
  });

  describe('operators: the partner registry', () => {
    it('when a partner is created, then its secrets are shown once: never in the list or its detail', async () => {
      const name = `registry-${newId()}`;
      const created = await admin('POST', '/partners', { name, webhook_url: 'https://partner.example.com/hooks' });
      expect(created.status).toBe(201);
      const p = created.body!.data;
      expect(p.api_secret).toMatch(/^[0-9a-f]{64}$/);
      expect(p.webhook_secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(p.api_key_id).toMatch(/^pk_[0-9a-f]{32}$/);
      expect(p).toMatchObject({ name, status: 'active', webhook_url: 'https://partner.example.com/hooks', traders: [] });
      const list = await admin('GET', '/partners');
      expect(list.status).toBe(200);
      const listed = (list.body!.data.partners as Record<string, unknown>[]).find((x) => x.partner_id === p.partner_id);
      expect(listed).toMatchObject({ name, api_key_id: p.api_key_id });
      const detail = await admin('GET', `/partners/${p.partner_id}`);
      expect(detail.status).toBe(200);
      for (const text of [JSON.stringify(list.body), JSON.stringify(detail.body)]) {
        expect(text).not.toContain(p.api_secret);
        expect(text).not.toContain(p.webhook_secret);
        expect(text).not.toContain('api_secret');
        expect(text).not.toContain('webhook_secret');
      }
      expect((await admin('GET', `/partners/${newId()}`)).body!.error.code).toBe('PARTNER_NOT_FOUND');
    });

    it('when the secret is rotated, then requests signed with the old secret are refused and the new one works', async () => {
      const t = await linkedTrader();
      const rotated = await admin('POST', `/partners/${t.partner.partner_id}/rotate-secret`);
      expect(rotated.status).toBe(200);
      const fresh = rotated.body!.data as Partner;
      expect(fresh.api_key_id).toBe(t.partner.api_key_id);
      expect(fresh.api_secret).not.toBe(t.partner.api_secret);
      expect(fresh.webhook_secret).not.toBe(t.partner.webhook_secret);
      const old = await post(t.partner, requestFor(t));
      expect(old.status).toBe(401);
      expect(old.body!.error.code).toBe('PARTNER_SIGNATURE_INVALID');
      await expectNothingHappened(t.trader);
      const accepted = await post(fresh, requestFor(t));
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
    });

    it('when the webhook URL is set, then https and http to localhost are taken, anything else is 400', async () => {
      const p = await createPartner();
      const set = await admin('PUT', `/partners/${p.partner_id}/webhook`, { url: 'http://127.0.0.1:9999/hooks' });
      expect(set.status).toBe(200);
      expect(set.body!.data.webhook_url).toBe('http://127.0.0.1:9999/hooks');
      for (const url of ['http://partner.example.com/hooks', 'ftp://partner.example.com', 'https://user:pw@partner.example.com/']) {
        const r = await admin('PUT', `/partners/${p.partner_id}/webhook`, { url });
        expect(r.status, url).toBe(400);
        expect(r.body!.error.code).toBe('VALIDATION_ERROR');
      }
      const cleared = await admin('PUT', `/partners/${p.partner_id}/webhook`, { url: null });
      expect(cleared.body!.data.webhook_url).toBeNull();
    });

    it('when operators change a partner, then each change is audited with the operator and no secret; a trader token is 403', async () => {
      const t = await linkedTrader();
      await admin('POST', `/partners/${t.partner.partner_id}/disable`);
      await admin('POST', `/partners/${t.partner.partner_id}/rotate-secret`);
      const audit = await queryRows(
        sys.databases.sessions.em.fork(),
        z.object({ action: z.string(), actor: z.string(), detail: z.unknown() }),
        'select action, actor, detail from partner_audit where partner_id = ? order by seq',
        [t.partner.partner_id],
      );
      expect(audit.map((a) => a.action)).toEqual(['created', 'trader_linked', 'disabled', 'secrets_rotated']);
      expect(new Set(audit.map((a) => a.actor))).toEqual(new Set(['operator:op-partners']));
      expect(JSON.stringify(audit)).not.toContain(t.partner.api_secret);
      const trader = await sys.http('GET', '/api/admin/partners', { trader: newTrader() });
      expect(trader.status).toBe(403);
    });
  });
});
