import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { newId } from '@offramp/kit';
import { eventually, startHttpReceiver, type HttpReceiver } from '@offramp/kit/testing';
import { startSystem, tokenFor, type System } from './system.ts';
import { countries, emitOfframp, traderWithAccount, waitForStatus } from './flows.ts';
import { partnerRequestBody, sessionOfPartnerRequest, signedPartnerPost, type Partner } from './partner-flows.ts';

/**
 * Webhooks to the partner over HTTP against the whole system (issue 13): an operator registers a
 * partner with its receiver's URL; the partner's signed request runs the widget's pipeline, and the
 * receiver (a real HTTP server) gets one webhook per status change, each verified with the
 * Standard Webhooks reference implementation; the delivery log and the replay are operator routes.
 */

const operator = tokenFor('op-webhooks', { role: 'admin' });

/** A delivery as the operator routes answer it (the fields the tests read). */
interface Delivery {
  delivery_id: string;
  webhook_id: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  on_hold: string | null;
  payload: { data: { status: string; withdrawalState: string; withdrawRequestId: string; operationNo: string } };
  replays: { operator_id: string; outcome: string; status_code: number | null }[];
}

describe('webhooks to the partner, end to end', () => {
  let sys: System;
  const receivers: HttpReceiver[] = [];
  beforeAll(async () => {
    sys = await startSystem({
      env: {
        PARTNER_WEBHOOK_POLL_MS: '25',
        PARTNER_WEBHOOK_IDLE_POLL_MS: '100',
        PARTNER_WEBHOOK_BACKOFF_MS: '100',
        PARTNER_WEBHOOK_BACKOFF_MAX_MS: '400',
        PARTNER_WEBHOOK_MAX_ATTEMPTS: '50',
      },
    });
  });
  afterAll(async () => {
    for (const r of receivers) await r.stop();
    await sys?.cleanup();
  });

  const admin = (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) =>
    sys.http(method, `/api/admin${path}`, { token: operator, ...(body === undefined ? {} : { body }) });

  /** A partner whose webhook URL is a receiver of the test's (listening unless told), and a BR trader linked to it. */
  async function partnerWithTrader(o: { receiverUp?: boolean; withUrl?: boolean } = {}) {
    const receiver = await startHttpReceiver({ listen: o.receiverUp !== false });
    receivers.push(receiver);
    const url = receiver.url('/offramp/webhooks?token=partner-side');
    const created = await admin('POST', '/partners', { name: `partner-${newId()}`, ...(o.withUrl === false ? {} : { webhook_url: url }) });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const partner = created.body!.data as Partner;
    const t = await traderWithAccount(sys, countries.BR);
    const linked = await admin('POST', `/partners/${partner.partner_id}/traders`, { trader_id: t.trader, user_name: t.holder });
    expect(linked.status, JSON.stringify(linked.body)).toBe(200);
    return { ...t, partner, receiver, url };
  }

  /** The partner's signed withdrawal request (HMAC-SHA256 of the raw body, hex); answers its request id and our withdrawal id. */
  async function request(p: Partner, t: { trader: string; holder: string; accountId: string }) {
    const body = partnerRequestBody(t);
    const r = await signedPartnerPost(sys, p, body);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return { withdrawRequestId: body.withdrawRequestId, withdrawalId: r.body!.data.operationNo as string };
  }

  /** What the receiver got, each verified with `Webhook.verify` over the raw body (throws on a bad signature). */
  function verified(receiver: HttpReceiver, secret: string) {
    const webhook = new Webhook(secret);
    return receiver.received.map((r) => {
      const headers = {
        'webhook-id': String(r.headers['webhook-id']),
        'webhook-timestamp': String(r.headers['webhook-timestamp']),
        'webhook-signature': String(r.headers['webhook-signature']),
      };
      const payload = webhook.verify(r.body, headers) as Delivery['payload'];
      return { ...headers, payload, path: r.path };
    });
  }

  async function deliveries(partnerId: string, status?: string): Promise<Delivery[]> {
    const r = await admin('GET', `/partners/${partnerId}/deliveries${status ? `?status=${status}` : ''}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body!.data.deliveries as Delivery[];
  }

  const sessionOf = (withdrawRequestId: string) => sessionOfPartnerRequest(sys, withdrawRequestId);

  it('when a signed request completes (sandbox success), then the receiver gets one verified webhook per state change and the log shows each delivered', async () => {
    const p = await partnerWithTrader();
    const { withdrawRequestId, withdrawalId } = await request(p.partner, p);
    await waitForStatus(sys, p.trader, withdrawalId, 'processing');
    await emitOfframp(sys, p.trader, await sessionOf(withdrawRequestId), 'success');
    await waitForStatus(sys, p.trader, withdrawalId, 'completed');
    await eventually('four webhooks', () => p.receiver.received.length >= 4);
    await sys.quiet();
    const got = verified(p.receiver, p.partner.webhook_secret);
    // One per status change, in order: each waits until the one before it is delivered.
    expect(got.map((w) => `${w.payload.data.status} ${w.payload.data.withdrawalState}`)).toEqual([
      'pending NEW',
      'approved PROCESSING',
      'processing PROCESSING',
      'completed COMPLETED',
    ]);
    expect(got.every((w) => w.payload.data.withdrawRequestId === withdrawRequestId && w.payload.data.operationNo === withdrawalId)).toBe(
      true,
    );
    expect(got[0]!.path).toBe('/offramp/webhooks?token=partner-side');
    const log = await deliveries(p.partner.partner_id);
    expect(log.map((d) => [d.status, d.attempts, d.last_status_code])).toEqual(Array(4).fill(['delivered', 1, 200]));
    expect(log.map((d) => d.webhook_id).sort()).toEqual(got.map((w) => w['webhook-id']).sort());
  });

  it('when the receiver is down for a while, then the first delivery is retried, the later ones wait behind it, and all are delivered in order once it is back', async () => {
    const p = await partnerWithTrader({ receiverUp: false });
    const { withdrawalId } = await request(p.partner, p);
    await waitForStatus(sys, p.trader, withdrawalId, 'processing');
    await eventually('the first delivery refused twice, the two later ones waiting', async () => {
      const log = await deliveries(p.partner.partner_id); // newest first
      return (
        log.length === 3 &&
        log.every((d) => d.status === 'pending') &&
        log[2]!.attempts >= 2 &&
        log[2]!.last_error === 'network error: ECONNREFUSED' &&
        log[0]!.attempts === 0 &&
        log[1]!.attempts === 0
      );
    });
    await p.receiver.start();
    await eventually('all delivered', async () => (await deliveries(p.partner.partner_id, 'delivered')).length === 3);
    const got = verified(p.receiver, p.partner.webhook_secret);
    expect(got.map((w) => w.payload.data.status)).toEqual(['pending', 'approved', 'processing']);
    expect(got.map((w) => w['webhook-id'])).toEqual((await deliveries(p.partner.partner_id)).map((d) => d.webhook_id).reverse());
  });

  it('when an operator replays a delivery, then it is re-sent with the same webhook-id and a valid new signature and audited with the operator; unknown is 404, a disabled partner 409', async () => {
    const p = await partnerWithTrader();
    const { withdrawalId } = await request(p.partner, p);
    await waitForStatus(sys, p.trader, withdrawalId, 'processing');
    await eventually('three webhooks', () => p.receiver.received.length >= 3);
    const first = verified(p.receiver, p.partner.webhook_secret).find((w) => w.payload.data.status === 'pending');
    const delivery = (await deliveries(p.partner.partner_id)).find((d) => d.webhook_id === first!['webhook-id'])!;
    // A replay in the same second would carry the same timestamp: wait for the clock to turn.
    await eventually('the next second', () => Math.floor(Date.now() / 1000) > Number(first!['webhook-timestamp']));

    const replayed = await admin('POST', `/partners/${p.partner.partner_id}/deliveries/${delivery.delivery_id}/replay`);
    expect(replayed.status, JSON.stringify(replayed.body)).toBe(200);
    expect(replayed.body!.data).toMatchObject({ delivery_id: delivery.delivery_id, status: 'delivered', attempts: 2 });
    expect(replayed.body!.data.replays).toEqual([
      { operator_id: 'op-webhooks', at: expect.any(String), outcome: 'delivered', status_code: 200, error: null },
    ]);
    const again = verified(p.receiver, p.partner.webhook_secret).at(-1)!;
    expect(again['webhook-id']).toBe(first!['webhook-id']);
    expect(Number(again['webhook-timestamp'])).toBeGreaterThan(Number(first!['webhook-timestamp']));
    expect(again['webhook-signature']).not.toBe(first!['webhook-signature']);
    expect(again.payload).toEqual(first!.payload);

    const unknown = await admin('POST', `/partners/${p.partner.partner_id}/deliveries/${newId()}/replay`);
    expect(unknown.status).toBe(404);
    expect(unknown.body!.error.code).toBe('PARTNER_DELIVERY_NOT_FOUND');
    expect((await admin('POST', `/partners/${p.partner.partner_id}/disable`)).status).toBe(200);
    const refused = await admin('POST', `/partners/${p.partner.partner_id}/deliveries/${delivery.delivery_id}/replay`);
    expect(refused.status).toBe(409);
    expect(refused.body!.error.code).toBe('PARTNER_WEBHOOK_UNAVAILABLE');
    expect(p.receiver.received).toHaveLength(4);
  });

  it('when the partner has no webhook URL, then its deliveries wait on hold and go out, in order, once an operator sets one', async () => {
    const p = await partnerWithTrader({ withUrl: false });
    const { withdrawalId } = await request(p.partner, p);
    await waitForStatus(sys, p.trader, withdrawalId, 'processing');
    await eventually('three deliveries on hold', async () => {
      const log = await deliveries(p.partner.partner_id, 'pending');
      return log.length === 3 && log.every((d) => d.on_hold === 'no_webhook_url' && d.attempts === 0);
    });
    expect(p.receiver.received).toHaveLength(0);
    const set = await admin('PUT', `/partners/${p.partner.partner_id}/webhook`, { url: p.url });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    await eventually('all delivered', async () => (await deliveries(p.partner.partner_id, 'delivered')).length === 3);
    expect(verified(p.receiver, p.partner.webhook_secret).map((w) => w.payload.data.status)).toEqual(['pending', 'approved', 'processing']);
  });

  it('when the delivery log is asked of an unknown partner, with a bad id or filter, or by a trader, then 404, 400 naming the field, or 403', async () => {
    const unknown = await admin('GET', `/partners/${newId()}/deliveries`);
    expect(unknown.status).toBe(404);
    expect(unknown.body!.error.code).toBe('PARTNER_NOT_FOUND');
    const badId = await admin('GET', '/partners/not-a-uuid/deliveries');
    expect(badId.status).toBe(400);
    expect(badId.body!.error.details.fields).toEqual([expect.objectContaining({ field: 'partnerId' })]);
    const badFilter = await admin('GET', `/partners/${newId()}/deliveries?status=sent&limit=101`);
    expect(badFilter.status).toBe(400);
    expect(badFilter.body!.error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual(['limit', 'status']);
    const trader = await sys.http('POST', `/api/admin/partners/${newId()}/deliveries/${newId()}/replay`, {
      trader: 'trader-not-an-operator',
    });
    expect(trader.status).toBe(403);
  });
});
