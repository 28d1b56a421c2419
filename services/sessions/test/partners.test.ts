import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { newId } from '@offramp/kit';
import { partnersRpc, type PartnerWithdrawalRequest } from '@offramp/contracts';
import { decodePayloadHash, signatureMatches } from '../src/partners/signature.ts';
import { requestHash } from '../src/partners/partner-requests.ts';
import { funded, startTestStack, type TestStack } from './harness.ts';
import { fiatAccountId, quoteMinor } from './players.ts';

const mac = (secret: string, data: string, encoding: 'hex' | 'base64' = 'hex') =>
  createHmac('sha256', secret).update(data, 'utf8').digest(encoding);

describe('partner signatures (pure)', () => {
  const secret = 'a'.repeat(64);
  const body = Buffer.from('{"withdrawRequestId":"wr-1"}');

  it('when the hash is the HMAC of the exact bytes in lowercase hex, upper-case hex or base64, then it matches', () => {
    const hex = mac(secret, body.toString());
    expect(signatureMatches(secret, body, hex)).toBe(true);
    expect(signatureMatches(secret, body, hex.toUpperCase())).toBe(true);
    expect(signatureMatches(secret, body, mac(secret, body.toString(), 'base64'))).toBe(true);
  });

  it('when the bytes, the secret or the encoding differ, then it does not match, and a malformed header is no hash at all', () => {
    const hex = mac(secret, body.toString());
    expect(signatureMatches(secret, Buffer.from(`${body.toString()} `), hex)).toBe(false);
    expect(signatureMatches('b'.repeat(64), body, hex)).toBe(false);
    expect(signatureMatches(secret, body, hex.slice(0, 63))).toBe(false);
    expect(decodePayloadHash('')).toBeNull();
    expect(decodePayloadHash(`sha256=${hex}`)).toBeNull();
    expect(decodePayloadHash('z'.repeat(64))).toBeNull();
  });

  it('when two requests differ only in the amount’s form, then they hash the same; any field changed, then not', () => {
    const r: PartnerWithdrawalRequest = {
      withdrawRequestId: 'wr-1',
      withdrawRequestDate: 1_900_000_000_000,
      userId: 't-1',
      userName: 'Ana',
      fiatCurrency: 'BRL',
      fiatAmount: '100',
      currency: 'USDT',
      fiatAccountId: 'fa-1',
    };
    expect(requestHash({ ...r, fiatAmount: '100.00' })).toBe(requestHash(r));
    for (const change of [{ fiatAmount: '100.01' }, { userName: 'Ana B' }, { withdrawRequestDate: 1 }, { paymentRouteId: 'BR_PIX' }])
      expect(requestHash({ ...r, ...change }), JSON.stringify(change)).not.toBe(requestHash(r));
  });
});

describe('partner API in sessions (registry, signed requests, query)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => stack?.cleanup());

  async function partnerFor(traderId?: string) {
    const created = await stack.call(partnersRpc.create, { name: `p-${newId()}`, webhookUrl: null, operatorId: 'op-1' });
    if (!created.ok) throw new Error(created.error.code);
    if (traderId) {
      const linked = await stack.call(partnersRpc.linkTrader, {
        partnerId: created.data.partnerId,
        traderId,
        userName: 'Ana',
        operatorId: 'op-1',
      });
      expect(linked.ok).toBe(true);
    }
    return created.data;
  }

  const requestOf = (traderId: string, over: Partial<PartnerWithdrawalRequest> = {}): PartnerWithdrawalRequest => ({
    withdrawRequestId: `wr-${newId()}`,
    withdrawRequestDate: Date.now(),
    userId: traderId,
    userName: 'Ana',
    fiatCurrency: 'BRL',
    fiatAmount: '50.00',
    currency: 'USDT',
    fiatAccountId: fiatAccountId(traderId),
    ...over,
  });

  const authenticate = (apiKeyId: string, payloadHash: string, signed: string) =>
    stack.call(partnersRpc.authenticate, { apiKeyId, payloadHash, signed: Buffer.from(signed).toString('base64') });

  const withdrawalsOf = (traderId: string) =>
    stack.rows(z.object({ id: z.string(), session_id: z.string() }), 'select id, session_id from withdrawals where trader_id = ?', [
      traderId,
    ]);

  it('when a partner authenticates, then the key, the hash and the status are checked in that order', async () => {
    const p = await partnerFor();
    expect(await authenticate(p.apiKeyId, mac(p.apiSecret, 'body'), 'body')).toEqual({ ok: true, data: { partnerId: p.partnerId } });
    expect(await authenticate('pk_nobody', mac(p.apiSecret, 'body'), 'body')).toMatchObject({
      ok: false,
      error: { code: 'PARTNER_UNAUTHORIZED' },
    });
    expect(await authenticate(p.apiKeyId, mac(p.apiSecret, 'other'), 'body')).toMatchObject({
      ok: false,
      error: { code: 'PARTNER_SIGNATURE_INVALID' },
    });
    await stack.call(partnersRpc.setStatus, { partnerId: p.partnerId, status: 'disabled', operatorId: 'op-1' });
    // A disabled partner's bad hash is still a bad hash: the status is told only to who holds the secret.
    expect(await authenticate(p.apiKeyId, mac('x', 'body'), 'body')).toMatchObject({
      ok: false,
      error: { code: 'PARTNER_SIGNATURE_INVALID' },
    });
    expect(await authenticate(p.apiKeyId, mac(p.apiSecret, 'body'), 'body')).toMatchObject({
      ok: false,
      error: { code: 'PARTNER_DISABLED' },
    });
  });

  it('when the secret is rotated, then the old one no longer signs, the new one does, and get shows no secret', async () => {
    const p = await partnerFor();
    const rotated = await stack.call(partnersRpc.rotateSecret, { partnerId: p.partnerId, operatorId: 'op-2' });
    if (!rotated.ok) throw new Error(rotated.error.code);
    expect(await authenticate(p.apiKeyId, mac(p.apiSecret, 'b'), 'b')).toMatchObject({
      ok: false,
      error: { code: 'PARTNER_SIGNATURE_INVALID' },
    });
    expect((await authenticate(p.apiKeyId, mac(rotated.data.apiSecret, 'b'), 'b')).ok).toBe(true);
    const got = await stack.call(partnersRpc.get, { partnerId: p.partnerId });
    expect(JSON.stringify(got)).not.toContain(rotated.data.apiSecret);
    expect(JSON.stringify(got)).not.toContain(rotated.data.webhookSecret);
    const audit = await stack.rows(
      z.object({ action: z.string(), actor: z.string() }),
      'select action, actor from partner_audit where partner_id = ? order by seq',
      [p.partnerId],
    );
    expect(audit).toEqual([
      { action: 'created', actor: 'operator:op-1' },
      { action: 'secrets_rotated', actor: 'operator:op-2' },
    ]);
  });

  it('when a linked trader’s request is made, then the session and the request are stored together and the withdrawal joins to it', async () => {
    const traderId = await stack.trader(funded);
    const p = await partnerFor(traderId);
    const req = requestOf(traderId);
    const r = await stack.call(partnersRpc.createRequest, { partnerId: p.partnerId, request: req });
    if (!r.ok) throw new Error(r.error.code);
    expect(r.data.created).toBe(true);
    expect(r.data.request).toMatchObject({ withdrawRequestId: req.withdrawRequestId, withdrawalState: 'NEW', userId: traderId });
    expect(r.data.request.conversion).toMatchObject({ fiatAmount: '50.00', fiatCurrency: 'BRL', cryptoAmount: '10.000000' });
    expect(quoteMinor('50.00')).toBe(10_000_000n);
    const [w] = await withdrawalsOf(traderId);
    expect(w?.id).toBe(r.data.request.operationNo);
    const [joined] = await stack.rows(
      z.object({ withdraw_request_id: z.string() }),
      'select withdraw_request_id from partner_requests where session_id = ?',
      [w!.session_id],
    );
    expect(joined?.withdraw_request_id).toBe(req.withdrawRequestId);
    const q = await stack.call(partnersRpc.getRequest, { partnerId: p.partnerId, withdrawRequestId: req.withdrawRequestId });
    expect(q).toMatchObject({ ok: true, data: { amount: '10.000000', operationNo: w!.id, currency: 'USDT' } });
  });

  it('when 20 copies of one request arrive at once, then one is created, all answer the same withdrawal, and one is held', async () => {
    const traderId = await stack.trader(funded);
    const p = await partnerFor(traderId);
    const req = requestOf(traderId);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => stack.call(partnersRpc.createRequest, { partnerId: p.partnerId, request: req })),
    );
    const oks = answers.map((a) => (a.ok ? a.data : null));
    expect(oks.filter((a) => a?.created === true)).toHaveLength(1);
    expect(new Set(oks.map((a) => a?.request.operationNo)).size).toBe(1);
    expect(await withdrawalsOf(traderId)).toHaveLength(1);
    expect(await stack.rows(z.object({ id: z.string() }), 'select id from sessions where trader_id = ?', [traderId])).toHaveLength(1);
    // Held once (or, the player's Alfred having paid it already, taken once): 10 USDT less available either way.
    expect((await stack.balance(traderId))?.availableMinor).toBe(funded - 10_000_000n);
  });

  it('when the date is out of the window or the trader is not linked, then refused before anything is stored', async () => {
    const traderId = await stack.trader(funded);
    const p = await partnerFor();
    const windowMs = stack.config.PARTNER_REQUEST_WINDOW_MS;
    const stale = await stack.call(partnersRpc.createRequest, {
      partnerId: p.partnerId,
      request: requestOf(traderId, { withdrawRequestDate: Date.now() - windowMs - 1_000 }),
    });
    expect(stale).toMatchObject({ ok: false, error: { code: 'PARTNER_REQUEST_STALE' } });
    const notLinked = await stack.call(partnersRpc.createRequest, { partnerId: p.partnerId, request: requestOf(traderId) });
    expect(notLinked).toMatchObject({ ok: false, error: { code: 'PARTNER_USER_NOT_LINKED' } });
    expect(await stack.rows(z.object({ id: z.string() }), 'select id from sessions where trader_id = ?', [traderId])).toEqual([]);
  });

  it('when the initiation is refused for funds, then nothing is held, the query says not found, and the same request succeeds once funded', async () => {
    const traderId = await stack.trader(1_000_000n);
    const p = await partnerFor(traderId);
    const req = requestOf(traderId);
    const poor = await stack.call(partnersRpc.createRequest, { partnerId: p.partnerId, request: req });
    expect(poor).toMatchObject({ ok: false, error: { code: 'INSUFFICIENT_FUNDS' } });
    expect(await stack.balance(traderId)).toMatchObject({ pendingDebitsMinor: 0n, availableMinor: 1_000_000n });
    expect(await withdrawalsOf(traderId)).toEqual([]);
    const q = await stack.call(partnersRpc.getRequest, { partnerId: p.partnerId, withdrawRequestId: req.withdrawRequestId });
    expect(q).toMatchObject({ ok: false, error: { code: 'PARTNER_REQUEST_NOT_FOUND' } });
    await stack.fund(traderId, funded);
    const again = await stack.call(partnersRpc.createRequest, { partnerId: p.partnerId, request: req });
    expect(again).toMatchObject({ ok: true, data: { created: false, request: { withdrawRequestId: req.withdrawRequestId } } });
    expect(await withdrawalsOf(traderId)).toHaveLength(1);
  });
});

describe('partner list in sessions (paged, newest first)', () => {
  // A stack of its own: the list counts every partner of the schema, so the other tests' partners stay out of it.
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => stack?.cleanup());

  const ids = (listed: { partners: { partnerId: string }[] }) => listed.partners.map((p) => p.partnerId);

  it('when there are no partners, then the list is [] with total 0', async () => {
    expect(await stack.call(partnersRpc.list, { page: 1, limit: 50 })).toEqual({ partners: [], total: 0 });
  });

  it('when three partners are paged two at a time, then page 1 is the two newest, page 2 the oldest, total 3 each, and a status filters', async () => {
    const created: string[] = [];
    for (const name of ['oldest', 'middle', 'newest']) {
      const p = await stack.call(partnersRpc.create, { name, webhookUrl: null, operatorId: 'op-1' });
      if (!p.ok) throw new Error(p.error.code);
      created.push(p.data.partnerId);
    }
    const [oldest, middle, newest] = created;
    await stack.call(partnersRpc.linkTrader, { partnerId: oldest!, traderId: 't-oldest', userName: 'Ana', operatorId: 'op-1' });

    const first = await stack.call(partnersRpc.list, { page: 1, limit: 2 });
    expect(ids(first)).toEqual([newest, middle]);
    expect(first.total).toBe(3);
    const second = await stack.call(partnersRpc.list, { page: 2, limit: 2 });
    expect(ids(second)).toEqual([oldest]);
    expect(second.total).toBe(3);
    // Only the page's partners' traders are read, and each partner keeps its own.
    expect(second.partners[0]!.traders.map((t) => t.traderId)).toEqual(['t-oldest']);
    expect(first.partners.flatMap((p) => p.traders)).toEqual([]);
    expect(await stack.call(partnersRpc.list, { page: 3, limit: 2 })).toEqual({ partners: [], total: 3 });

    await stack.call(partnersRpc.setStatus, { partnerId: middle!, status: 'disabled', operatorId: 'op-1' });
    const disabled = await stack.call(partnersRpc.list, { page: 1, limit: 50, status: 'disabled' });
    expect([ids(disabled), disabled.total]).toEqual([[middle], 1]);
    const active = await stack.call(partnersRpc.list, { page: 1, limit: 50, status: 'active' });
    expect([ids(active), active.total]).toEqual([[newest, oldest], 2]);
  });
});
