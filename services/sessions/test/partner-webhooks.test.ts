import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { inTransaction, newId } from '@offramp/kit';
import { eventually, freePort, readStream, startHttpReceiver, type ReceivedRequest } from '@offramp/kit/testing';
import {
  failureMessage,
  partnerWebhookPayload,
  partnerWebhooksRpc,
  withdrawalEvents,
  type PartnerWebhookPayload,
} from '@offramp/contracts';
import { funded, startTestStack, until, type TestStack } from './harness.ts';
import { publishEnvelope, type OfframpScenario } from './players.ts';
import { retryAt } from '../src/partner-webhooks/partner-webhooks.ts';
import { recordOutcome } from '../src/partner-webhooks/partner-webhooks-store.ts';
import { sendWebhook, signedHeaders, urlForLog } from '../src/partner-webhooks/sender.ts';

/** One webhook as the partner's receiver got it, verified with the Standard Webhooks reference implementation. */
interface Received {
  webhookId: string;
  timestamp: number;
  signature: string;
  /** When it arrived (ms). */
  at: number;
  /** The verified payload, or null when verification failed (`error`). */
  payload: PartnerWebhookPayload | null;
  error: string | null;
}

/** Each request the receiver got, verified with `Webhook.verify` over its raw body and headers. */
function verified(requests: ReceivedRequest[], secret: string): Received[] {
  const webhook = new Webhook(secret);
  return requests.map((r) => {
    const h = {
      'webhook-id': String(r.headers['webhook-id']),
      'webhook-timestamp': String(r.headers['webhook-timestamp']),
      'webhook-signature': String(r.headers['webhook-signature']),
    };
    const common = { webhookId: h['webhook-id'], timestamp: Number(h['webhook-timestamp']), signature: h['webhook-signature'], at: r.at };
    try {
      return { ...common, payload: partnerWebhookPayload.parse(webhook.verify(r.body, h)), error: null };
    } catch (err) {
      return { ...common, payload: null, error: String(err) };
    }
  });
}

const whsec = () => `whsec_${randomBytes(32).toString('base64')}`;

describe('webhooks to the partner', () => {
  let stack: TestStack;
  const receivers: { stop(): Promise<void> }[] = [];
  beforeAll(async () => {
    stack = await startTestStack({
      env: {
        PARTNER_WEBHOOK_POLL_MS: '25',
        PARTNER_WEBHOOK_IDLE_POLL_MS: '100',
        PARTNER_WEBHOOK_BACKOFF_MS: '100',
        PARTNER_WEBHOOK_BACKOFF_MAX_MS: '400',
        PARTNER_WEBHOOK_MAX_ATTEMPTS: '8',
        PARTNER_WEBHOOK_TIMEOUT_MS: '2000',
      },
    });
  });
  afterAll(async () => {
    for (const r of receivers) await r.stop();
    await stack?.cleanup();
  });

  /** A partner in sessions' registry (the rows the partner registry writes), with its own receiver (listening unless told). */
  async function partner(o: { status?: 'active' | 'disabled'; url?: 'receiver' | null; receiverUp?: boolean } = {}) {
    const secret = whsec();
    const http = await startHttpReceiver({ listen: o.receiverUp !== false });
    receivers.push(http);
    const url = http.url('/hooks/offramp?token=partner-side-secret');
    const partnerId = newId();
    await stack.run(
      `insert into partners (partner_id, name, api_key_id, api_secret, webhook_secret, webhook_url, status) values (?, ?, ?, ?, ?, ?, ?)`,
      [
        partnerId,
        `partner ${partnerId}`,
        `key-${partnerId}`,
        randomBytes(32).toString('hex'),
        secret,
        o.url === null ? null : url,
        o.status ?? 'active',
      ],
    );
    const receiver = {
      url,
      start: () => http.start(),
      answer: (code: number) => http.answer(code),
      /** What arrived so far, verified with the partner's first secret. */
      get received() {
        return verified(http.received, secret);
      },
      /** What arrived so far, verified with another secret (after a rotation). */
      verifiedWith: (other: string) => verified(http.received, other),
    };
    return { partnerId, secret, receiver };
  }

  /** A withdrawal requested by the partner: its session, the partner request row written before initiation (as the partner API does), then initiated. */
  async function partnerWithdrawal(partnerId: string, o: { scenario?: OfframpScenario; decision?: 'approve' | 'reject' | 'hold' } = {}) {
    const traderId = await stack.trader(funded);
    if (o.scenario) stack.psp.scenarios.set(traderId, o.scenario);
    if (o.decision) stack.risk.decisions.set(traderId, o.decision);
    const session = await stack.session(traderId);
    const [row] = await stack.rows(z.object({ withdrawal_id: z.string() }), 'select withdrawal_id from sessions where id = ?', [
      session.sessionId,
    ]);
    const withdrawRequestId = `req-${newId()}`;
    await stack.run(
      `insert into partner_requests (withdraw_request_id, partner_id, session_id, withdrawal_id, body_hash, withdraw_request_date, user_id, user_name,
         fiat_account_id, payment_route_id, fiat_amount, fiat_currency, crypto_amount_minor, rate, quoted_at)
       values (?, ?, ?, ?, 'hash', ?, ?, 'Joao Santos', ?, 'BR_PIX', '50.00', 'BRL', ?, ?, now())`,
      [
        withdrawRequestId,
        partnerId,
        session.sessionId,
        row!.withdrawal_id,
        Date.now(),
        traderId,
        `fa-${traderId}`,
        session.quote.cryptoAmountMinor.toString(),
        session.quote.rate,
      ],
    );
    const r = await stack.initiate(traderId, session.sessionId);
    if (!r.ok) throw new Error(`initiate refused: ${r.error.code}`);
    return { traderId, withdrawalId: r.data.withdrawalId, withdrawRequestId };
  }

  async function deliveries(partnerId: string, status?: 'pending' | 'delivered' | 'failed') {
    const r = await stack.call(partnerWebhooksRpc.listDeliveries, { partnerId, page: 1, limit: 100, ...(status ? { status } : {}) });
    if (!r.ok) throw new Error(`deliveries of ${partnerId}: ${r.error.code}`);
    return r.data.deliveries;
  }
  const statesOf = (received: Received[]) =>
    received.map((r) => `${r.payload?.data.previousStatus ?? 'null'}->${r.payload?.data.status} ${r.payload?.data.withdrawalState}`);

  it('when a partner withdrawal completes, then the receiver gets one verified webhook per status change with its partner state', async () => {
    const { partnerId, receiver } = await partner();
    const { withdrawalId, withdrawRequestId } = await partnerWithdrawal(partnerId);
    await stack.reaches(withdrawalId, 'completed');
    await until('four webhooks', () => receiver.received.length >= 4);
    await stack.quiet();
    expect(receiver.received.every((r) => r.error === null)).toBe(true);
    // One per status change, in order: each waits until the one before it is delivered.
    expect(statesOf(receiver.received)).toEqual([
      'null->pending NEW',
      'pending->approved PROCESSING',
      'approved->processing PROCESSING',
      'processing->completed COMPLETED',
    ]);
    expect(new Set(receiver.received.map((r) => r.webhookId)).size).toBe(4);
    expect(receiver.received.find((r) => r.payload?.data.status === 'completed')!.payload).toEqual({
      type: 'withdrawal.state_changed',
      timestamp: expect.any(String),
      data: {
        withdrawRequestId,
        operationNo: withdrawalId,
        withdrawalState: 'COMPLETED',
        status: 'completed',
        previousStatus: 'processing',
        fiatAmount: '50.00',
        fiatCurrency: 'BRL',
        amount: '10.000000',
        currency: 'USDT',
      },
    });
    const log = await deliveries(partnerId);
    expect(log.map((d) => [d.status, d.attempts, d.lastStatusCode, d.onHold])).toEqual(Array(4).fill(['delivered', 1, 200, null]));
    expect(log.map((d) => d.webhookId).sort()).toEqual(receiver.received.map((r) => r.webhookId).sort());
    const counted = await stack.app.metrics.registry.getSingleMetricAsString('partner_webhook_attempts_total');
    expect(counted).toMatch(/partner_webhook_attempts_total\{source="dispatcher",outcome="delivered"[^}]*\} [1-9]/);
  });

  it('when the payout fails at the PSP or risk rejects, then the last webhook says FAILED (with the failure class and its message) or REJECTED (no reason shared)', async () => {
    const { partnerId, receiver } = await partner();
    const failed = await partnerWithdrawal(partnerId, { scenario: 'failure' });
    const refused = await partnerWithdrawal(partnerId, { decision: 'reject' });
    await stack.reaches(failed.withdrawalId, 'rejected');
    await stack.reaches(refused.withdrawalId, 'rejected');
    await until('the last webhooks', () => receiver.received.filter((r) => r.payload?.data.status === 'rejected').length === 2);
    const last = (withdrawalId: string) =>
      receiver.received.find((r) => r.payload?.data.operationNo === withdrawalId && r.payload.data.status === 'rejected')!.payload!.data;
    expect(last(failed.withdrawalId)).toMatchObject({
      withdrawalState: 'FAILED',
      status: 'rejected',
      failureClass: 'unknown',
      reason: failureMessage('unknown', 'en'),
    });
    // Risk's reasons (rule codes, screening hits) are not shared with the partner.
    const rejected = last(refused.withdrawalId);
    expect(rejected).toMatchObject({ withdrawalState: 'REJECTED', status: 'rejected', previousStatus: 'pending' });
    expect(Object.keys(rejected)).not.toContain('reason');
    expect(Object.keys(rejected)).not.toContain('failureClass');
  });

  it('when a status-changed event is delivered again, then no second delivery is recorded or sent', async () => {
    const { partnerId, receiver } = await partner();
    const { withdrawalId } = await partnerWithdrawal(partnerId, { decision: 'hold' });
    await until('the NEW webhook', () => receiver.received.length === 1);
    const [event] = (await readStream(stack.messaging, 'EVENTS', withdrawalEvents.statusChanged.subject)).filter(
      (m) => (m.data as { payload: { withdrawalId: string } }).payload.withdrawalId === withdrawalId,
    );
    // The same envelope under another message id: past JetStream's duplicate window, as a redelivery would be.
    await publishEnvelope(stack.messaging, withdrawalEvents.statusChanged.subject, event!.data as { id: string }, newId());
    await stack.quiet();
    await stack.app.partnerWebhooks.flush();
    expect(await deliveries(partnerId)).toHaveLength(1);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]!.webhookId).toBe(`msg_${(event!.data as { id: string }).id}`);
  });

  it('when the receiver is down (connection refused), then the delivery is retried with backoff and delivered once it is back', async () => {
    const { partnerId, receiver } = await partner({ receiverUp: false });
    await partnerWithdrawal(partnerId, { decision: 'hold' });
    const [waiting] = await eventually('two refused attempts', async () => {
      const log = await deliveries(partnerId);
      return log.length === 1 && log[0]!.attempts >= 2 ? log : undefined;
    });
    expect(waiting).toMatchObject({ status: 'pending', lastStatusCode: null, lastError: 'network error: ECONNREFUSED' });
    expect(Date.parse(waiting!.nextAttemptAt!)).toBeGreaterThan(Date.parse(waiting!.createdAt));
    await receiver.start();
    await until('delivered once the receiver is back', async () => (await deliveries(partnerId, 'delivered')).length === 1);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]!.error).toBeNull();
    const [delivered] = await deliveries(partnerId);
    expect(delivered!.attempts).toBeGreaterThanOrEqual(3);
    expect(delivered).toMatchObject({ status: 'delivered', lastStatusCode: 200, lastError: null, nextAttemptAt: null });
  });

  it('when the receiver answers 503 on every attempt, then the delivery is given up as failed after the last attempt, visible in the log', async () => {
    const { partnerId, receiver } = await partner();
    receiver.answer(503);
    await partnerWithdrawal(partnerId, { decision: 'hold' });
    await until('given up', async () => (await deliveries(partnerId, 'failed')).length === 1);
    const [failed] = await deliveries(partnerId, 'failed');
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: 8,
      lastStatusCode: 503,
      lastError: 'the partner answered 503',
      nextAttemptAt: null,
    });
    expect(receiver.received).toHaveLength(8);
    expect(new Set(receiver.received.map((r) => r.webhookId))).toEqual(new Set([failed!.webhookId]));
    expect(receiver.received.every((r) => r.error === null)).toBe(true);
    // Backoff with jitter: retry n waits between half and all of 100 ms doubled n-1 times, at most 400 ms.
    const gaps = receiver.received.slice(1).map((r, i) => r.at - receiver.received[i]!.at);
    const floors = [50, 100, 200, 200, 200, 200, 200];
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(floors[i]! - 5));
    const counted = await stack.app.metrics.registry.getSingleMetricAsString('partner_webhook_attempts_total');
    expect(counted).toMatch(/partner_webhook_attempts_total\{source="dispatcher",outcome="retry"[^}]*\} [1-9]/);
    expect(counted).toMatch(/partner_webhook_attempts_total\{source="dispatcher",outcome="failed"[^}]*\} [1-9]/);
  });

  it('when an operator replays a delivery, then it is sent again with the same webhook-id and a new valid signature, and the replay is audited', async () => {
    const { partnerId, receiver } = await partner();
    await partnerWithdrawal(partnerId, { decision: 'hold' });
    await until('the first webhook', () => receiver.received.length === 1);
    const [first] = receiver.received;
    // A replay in the same second would carry the same timestamp: wait for the clock to turn.
    await until('the next second', () => Math.floor(Date.now() / 1000) > first!.timestamp);
    const [delivery] = await deliveries(partnerId);
    const replayed = await stack.call(partnerWebhooksRpc.replayDelivery, {
      partnerId,
      deliveryId: delivery!.deliveryId,
      operatorId: 'op-7',
    });
    expect(replayed.ok).toBe(true);
    expect(receiver.received).toHaveLength(2);
    const [, again] = receiver.received;
    expect(again!.error).toBeNull();
    expect(again!.webhookId).toBe(first!.webhookId);
    expect(again!.timestamp).toBeGreaterThan(first!.timestamp);
    expect(again!.signature).not.toBe(first!.signature);
    expect(again!.payload).toEqual(first!.payload);
    if (!replayed.ok) return;
    expect(replayed.data).toMatchObject({ status: 'delivered', attempts: 2, lastStatusCode: 200 });
    expect(replayed.data.replays).toEqual([
      { operatorId: 'op-7', at: expect.any(String), outcome: 'delivered', statusCode: 200, error: null },
    ]);
    const audit = await stack.rows(
      z.object({ action: z.string(), actor: z.string(), detail: z.record(z.string(), z.unknown()) }),
      'select action, actor, detail from partner_audit where partner_id = ? order by seq',
      [partnerId],
    );
    expect(audit).toEqual([
      {
        action: 'delivery_replayed',
        actor: 'operator:op-7',
        detail: { deliveryId: delivery!.deliveryId, webhookId: first!.webhookId, outcome: 'delivered', statusCode: 200 },
      },
    ]);
    const counted = await stack.app.metrics.registry.getSingleMetricAsString('partner_webhook_attempts_total');
    expect(counted).toMatch(/partner_webhook_attempts_total\{source="replay",outcome="delivered"[^}]*\} 1/);
  });

  it("when a replay names an unknown delivery or another partner's, then PARTNER_DELIVERY_NOT_FOUND and nothing is sent; an unknown partner's log is PARTNER_NOT_FOUND", async () => {
    const a = await partner();
    const b = await partner();
    await partnerWithdrawal(a.partnerId, { decision: 'hold' });
    await until('the first webhook', () => a.receiver.received.length === 1);
    const [delivery] = await deliveries(a.partnerId);
    for (const req of [
      { partnerId: a.partnerId, deliveryId: newId() },
      { partnerId: b.partnerId, deliveryId: delivery!.deliveryId },
    ]) {
      const r = await stack.call(partnerWebhooksRpc.replayDelivery, { ...req, operatorId: 'op-7' });
      expect(r).toMatchObject({ ok: false, error: { code: 'PARTNER_DELIVERY_NOT_FOUND' } });
    }
    expect(a.receiver.received).toHaveLength(1);
    expect(b.receiver.received).toHaveLength(0);
    expect((await deliveries(a.partnerId))[0]!.replays).toEqual([]);
    const unknown = await stack.call(partnerWebhooksRpc.listDeliveries, { partnerId: newId(), page: 1, limit: 10 });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'PARTNER_NOT_FOUND' } });
  });

  it('when a claimed attempt never recorded its outcome (its sender died), then the delivery waits out the lease and is sent again under the same webhook-id; the late outcome is ignored', async () => {
    const { partnerId, receiver } = await partner({ status: 'disabled' });
    await partnerWithdrawal(partnerId, { decision: 'hold' });
    await stack.quiet();
    const [held] = await deliveries(partnerId);
    // The state a sender leaves when it dies mid-attempt: the attempt counted, the delivery leased for a while.
    await stack.run(
      `update partner_webhook_deliveries set attempts = 1, next_attempt_at = now() + interval '1 hour' where delivery_id = ?`,
      [held!.deliveryId],
    );
    await stack.run(`update partners set status = 'active' where partner_id = ?`, [partnerId]);
    await stack.app.partnerWebhooks.flush();
    expect(receiver.received).toHaveLength(0);
    // The lease runs out.
    await stack.run(`update partner_webhook_deliveries set next_attempt_at = now() - interval '1 second' where delivery_id = ?`, [
      held!.deliveryId,
    ]);
    await until('sent again', async () => (await deliveries(partnerId, 'delivered')).length === 1);
    expect(receiver.received.map((r) => [r.webhookId, r.error])).toEqual([[held!.webhookId, null]]);
    const [delivered] = await deliveries(partnerId);
    expect(delivered).toMatchObject({ status: 'delivered', attempts: 2 });
    // The dead sender's outcome, recorded late under its own attempt, changes nothing.
    const late = await inTransaction(stack.db, (em) =>
      recordOutcome(em, { deliveryId: held!.deliveryId, attempts: 1 }, { outcome: 'failed', statusCode: 500, error: 'late' }, null),
    );
    expect(late).toBe(false);
    expect((await deliveries(partnerId))[0]).toMatchObject({ status: 'delivered', attempts: 2, lastStatusCode: 200, lastError: null });
  });

  it("when the partner's webhook secret is rotated while a delivery is being retried, then the next attempt is signed with the new secret", async () => {
    const { partnerId, secret, receiver } = await partner();
    receiver.answer(503);
    await partnerWithdrawal(partnerId, { decision: 'hold' });
    await until('a refused attempt', () => receiver.received.length >= 1);
    const rotated = whsec();
    await stack.run('update partners set webhook_secret = ? where partner_id = ?', [rotated, partnerId]);
    await until('an attempt signed with the new secret', () => receiver.verifiedWith(rotated).some((r) => r.error === null));
    receiver.answer(200);
    await until('delivered', async () => (await deliveries(partnerId, 'delivered')).length === 1);
    const [delivered] = await deliveries(partnerId);
    // The first attempt verifies with the old secret only; the one answered 200 with the new one only.
    expect(receiver.verifiedWith(secret)[0]!.error).toBeNull();
    expect(receiver.verifiedWith(rotated)[0]!.error).not.toBeNull();
    expect(receiver.verifiedWith(rotated).at(-1)).toMatchObject({ webhookId: delivered!.webhookId, error: null });
    expect(receiver.received.at(-1)!.error).not.toBeNull();
  });

  it('when the partner is disabled or has no webhook URL, then its deliveries wait on hold (replay refused) and go out once it is enabled or given a URL', async () => {
    const disabled = await partner({ status: 'disabled' });
    const noUrl = await partner({ url: null });
    await partnerWithdrawal(disabled.partnerId, { decision: 'hold' });
    await partnerWithdrawal(noUrl.partnerId, { decision: 'hold' });
    await stack.quiet();
    await stack.app.partnerWebhooks.flush();
    const [held] = await deliveries(disabled.partnerId);
    const [noTarget] = await deliveries(noUrl.partnerId);
    expect(held).toMatchObject({ status: 'pending', attempts: 0, onHold: 'partner_disabled' });
    expect(noTarget).toMatchObject({ status: 'pending', attempts: 0, onHold: 'no_webhook_url' });
    const metrics = await stack.app.metrics.registry.getSingleMetricAsString('partner_webhook_deliveries_pending');
    expect(metrics).toMatch(/partner_webhook_deliveries_pending\{state="held"[^}]*\} [1-9]/);
    const refused = await stack.call(partnerWebhooksRpc.replayDelivery, {
      partnerId: disabled.partnerId,
      deliveryId: held!.deliveryId,
      operatorId: 'op-7',
    });
    expect(refused).toMatchObject({ ok: false, error: { code: 'PARTNER_WEBHOOK_UNAVAILABLE' } });
    expect(disabled.receiver.received).toHaveLength(0);
    expect(noUrl.receiver.received).toHaveLength(0);

    await stack.run(`update partners set status = 'active' where partner_id = ?`, [disabled.partnerId]);
    await stack.run('update partners set webhook_url = ? where partner_id = ?', [noUrl.receiver.url, noUrl.partnerId]);
    await until('both delivered', () => disabled.receiver.received.length === 1 && noUrl.receiver.received.length === 1);
    expect([...disabled.receiver.received, ...noUrl.receiver.received].map((r) => [r.error, r.payload?.data.withdrawalState])).toEqual([
      [null, 'NEW'],
      [null, 'NEW'],
    ]);
  });

  it('when a withdrawal was not requested by a partner, then no delivery is recorded', async () => {
    const before = await stack.rows(z.object({ n: z.number() }), 'select count(*)::int as n from partner_webhook_deliveries');
    const { withdrawalId } = await stack.withdraw();
    await stack.reaches(withdrawalId, 'completed');
    await stack.quiet();
    expect(await stack.rows(z.object({ n: z.number() }), 'select count(*)::int as n from partner_webhook_deliveries')).toEqual(before);
  });
});

describe('the partner webhook sender', () => {
  it('when an attempt cannot connect, then its error names the cause but neither the URL nor its query', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hooks?token=partner-side-secret`;
    const result = await sendWebhook({ url, secret: whsec(), webhookId: 'msg_1', body: '{}', timeoutMs: 1_000 });
    expect(result).toEqual({ outcome: 'failed', statusCode: null, error: 'network error: ECONNREFUSED' });
    expect(urlForLog(url)).toBe(`http://127.0.0.1:${port}/hooks`);
    expect(urlForLog('https://user:pass@partner.example/x?y=z')).toBe('https://partner.example/x');
  });

  it('when headers are signed, then the reference implementation verifies them and another secret does not', () => {
    const secret = whsec();
    const body = '{"type":"withdrawal.state_changed"}';
    const headers = signedHeaders({ secret, webhookId: 'msg_42', body }, new Date());
    expect(headers['webhook-id']).toBe('msg_42');
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual({ type: 'withdrawal.state_changed' });
    expect(() => new Webhook(whsec()).verify(body, headers)).toThrow();
  });

  it('when retries are scheduled, then each delay lies between half and all of the doubled base, capped, and none after the last attempt', () => {
    const backoff = { baseMs: 1_000, maxMs: 5_000, maxAttempts: 5 };
    const now = new Date(0);
    const delay = (attempts: number, r: number) => retryAt(now, attempts, backoff, () => r)?.getTime() ?? null;
    expect([1, 2, 3, 4].map((n) => [delay(n, 0), delay(n, 1)])).toEqual([
      [500, 1_000],
      [1_000, 2_000],
      [2_000, 4_000],
      [2_500, 5_000],
    ]);
    expect(delay(5, 0.5)).toBeNull();
  });
});
