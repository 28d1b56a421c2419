import { describe, expect, it } from 'vitest';
import { ok, partnersRpc, refuse, type PartnerView, type PartnerWithSecrets, type RpcDef } from '@offramp/contracts';
import type { Messaging } from '@offramp/kit';
import { startFakeResponders } from './fake-services.ts';
import { tokenFor, useGatewayWithFakes } from './harness.ts';

const admin = tokenFor('op-1', { role: 'admin' });
const partnerId = '01970000-0000-7000-8000-0000000000c1';

/** A partner as sessions' rpcs answer it (camelCase). */
function partnerView(overrides: Partial<PartnerView> = {}): PartnerView {
  return {
    partnerId,
    name: 'Example Exchange',
    apiKeyId: 'pk_3f1c9a0b7d2e4f6a8b0c1d2e3f4a5b6c',
    status: 'active',
    webhookUrl: 'https://partner.example.com/hooks',
    traders: [{ traderId: 'trader-42', userName: 'Joao Santos', linkedAt: '2030-01-01T00:01:00.000Z' }],
    createdAt: '2030-01-01T00:00:00.000Z',
    updatedAt: '2030-01-01T00:02:00.000Z',
    ...overrides,
  };
}
const withSecrets = (): PartnerWithSecrets => ({
  ...partnerView({ traders: [] }),
  apiSecret: 'ab'.repeat(32),
  webhookSecret: 'whsec_c2VjcmV0',
});

/** The same partner as operators see it on the wire (snake_case). */
const partnerWire = {
  partner_id: partnerId,
  name: 'Example Exchange',
  api_key_id: 'pk_3f1c9a0b7d2e4f6a8b0c1d2e3f4a5b6c',
  status: 'active',
  webhook_url: 'https://partner.example.com/hooks',
  traders: [{ trader_id: 'trader-42', user_name: 'Joao Santos', linked_at: '2030-01-01T00:01:00.000Z' }],
  created_at: '2030-01-01T00:00:00.000Z',
  updated_at: '2030-01-01T00:02:00.000Z',
};

// One table of responders over rpcs whose requests differ: each handler reads its own rpc's request.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Handler = (req: any) => unknown;

/** Real NATS responders for sessions' partner registry rpcs, recording what they got. */
function startPartnerFakes(messaging: Messaging) {
  const defaults: [RpcDef, Handler][] = [
    [partnersRpc.create, () => ok(withSecrets())],
    [partnersRpc.list, () => ({ partners: [partnerView()], total: 1 })],
    [partnersRpc.get, () => ok(partnerView())],
    [partnersRpc.setStatus, (r: { status: 'active' | 'disabled' }) => ok(partnerView({ status: r.status }))],
    [partnersRpc.rotateSecret, () => ok({ ...withSecrets(), traders: partnerView().traders })],
    [partnersRpc.setWebhook, (r: { url: string | null }) => ok(partnerView({ webhookUrl: r.url }))],
    [partnersRpc.linkTrader, () => ok(partnerView())],
    [partnersRpc.unlinkTrader, () => ok(partnerView({ traders: [] }))],
  ];
  return startFakeResponders(messaging, 'partner-registry-fakes', defaults, ({ subject, req }) => ({ subject, req }));
}

/** Every key of a JSON value, nested ones included. */
function keysOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysOf);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...keysOf(v)]);
  return [];
}

describe('gateway partner registry routes (/api/admin/partners)', () => {
  const t = useGatewayWithFakes(startPartnerFakes);

  it('when an operator creates a partner with snake_case fields, then sessions gets its request and the answer is snake_case with the secrets', async () => {
    const res = await t.gw.inject({
      method: 'POST',
      url: '/api/admin/partners',
      token: admin,
      body: { name: 'Example Exchange', webhook_url: 'https://partner.example.com/hooks' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().data).toEqual({ ...partnerWire, traders: [], api_secret: 'ab'.repeat(32), webhook_secret: 'whsec_c2VjcmV0' });
    expect(t.fakes.received).toEqual([
      {
        subject: partnersRpc.create.subject,
        req: { name: 'Example Exchange', webhookUrl: 'https://partner.example.com/hooks', operatorId: 'op-1' },
      },
    ]);
  });

  it('when partners are listed, read, disabled, enabled, rotated, given a webhook, linked and unlinked, then every answer is snake_case', async () => {
    const calls = [
      ['GET', '/api/admin/partners', undefined, { partners: [partnerWire], total: 1, page: 1, limit: 50 }],
      ['GET', `/api/admin/partners/${partnerId}`, undefined, partnerWire],
      ['POST', `/api/admin/partners/${partnerId}/disable`, undefined, { ...partnerWire, status: 'disabled' }],
      ['POST', `/api/admin/partners/${partnerId}/enable`, undefined, partnerWire],
      [
        'POST',
        `/api/admin/partners/${partnerId}/rotate-secret`,
        undefined,
        { ...partnerWire, api_secret: 'ab'.repeat(32), webhook_secret: 'whsec_c2VjcmV0' },
      ],
      ['PUT', `/api/admin/partners/${partnerId}/webhook`, { url: null }, { ...partnerWire, webhook_url: null }],
      ['POST', `/api/admin/partners/${partnerId}/traders`, { trader_id: 'trader-42', user_name: 'Joao Santos' }, partnerWire],
      ['DELETE', `/api/admin/partners/${partnerId}/traders/trader-42`, undefined, { ...partnerWire, traders: [] }],
    ] as const;
    for (const [method, url, body, answer] of calls) {
      const res = await t.gw.inject({ method, url, token: admin, ...(body && { body }) });
      expect(res.statusCode, `${method} ${url}`).toBe(200);
      expect(res.json().data, `${method} ${url}`).toEqual(answer);
      expect(keysOf(res.json().data).filter((k) => /[A-Z]/.test(k))).toEqual([]);
    }
    expect(t.fakes.received).toEqual([
      { subject: partnersRpc.list.subject, req: { page: 1, limit: 50 } },
      { subject: partnersRpc.get.subject, req: { partnerId } },
      { subject: partnersRpc.setStatus.subject, req: { partnerId, status: 'disabled', operatorId: 'op-1' } },
      { subject: partnersRpc.setStatus.subject, req: { partnerId, status: 'active', operatorId: 'op-1' } },
      { subject: partnersRpc.rotateSecret.subject, req: { partnerId, operatorId: 'op-1' } },
      { subject: partnersRpc.setWebhook.subject, req: { partnerId, url: null, operatorId: 'op-1' } },
      {
        subject: partnersRpc.linkTrader.subject,
        req: { partnerId, traderId: 'trader-42', userName: 'Joao Santos', operatorId: 'op-1' },
      },
      { subject: partnersRpc.unlinkTrader.subject, req: { partnerId, traderId: 'trader-42', operatorId: 'op-1' } },
    ]);
  });

  it('when partners are listed with a page, a limit and a status, then sessions gets them and the answer is the page with its total', async () => {
    t.fakes.answer(partnersRpc.list, () => ({ partners: [partnerView({ status: 'disabled' })], total: 3 }));
    const res = await t.gw.inject({ url: '/api/admin/partners?page=2&limit=2&status=disabled', token: admin });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({ partners: [{ ...partnerWire, status: 'disabled' }], total: 3, page: 2, limit: 2 });
    expect(t.fakes.received).toEqual([{ subject: partnersRpc.list.subject, req: { page: 2, limit: 2, status: 'disabled' } }]);
  });

  it('when there are no partners, then partners is [] and total 0 with the defaults page 1 of 50', async () => {
    t.fakes.answer(partnersRpc.list, () => ({ partners: [], total: 0 }));
    const res = await t.gw.inject({ url: '/api/admin/partners', token: admin });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({ partners: [], total: 0, page: 1, limit: 50 });
    expect(t.fakes.received).toEqual([{ subject: partnersRpc.list.subject, req: { page: 1, limit: 50 } }]);
  });

  it('when the page, the limit or the status is out of range or not a number, then 400 VALIDATION_ERROR names it and sessions is not called', async () => {
    for (const [query, field] of [
      ['limit=101', 'limit'],
      ['limit=0', 'limit'],
      ['limit=abc', 'limit'],
      ['page=0', 'page'],
      ['page=1.5', 'page'],
      ['status=deleted', 'status'],
    ] as const) {
      const res = await t.gw.inject({ url: `/api/admin/partners?${query}`, token: admin });
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.code, query).toBe('VALIDATION_ERROR');
      expect(
        res.json().error.details.fields.map((f: { field: string }) => f.field),
        query,
      ).toEqual([field]);
    }
    expect(t.fakes.received).toEqual([]);
  });

  it('when a body uses the camelCase names, then 400 VALIDATION_ERROR names them and sessions is not called', async () => {
    for (const [url, body, fields] of [
      ['/api/admin/partners', { name: 'Example Exchange', webhookUrl: 'https://partner.example.com/hooks' }, ['webhookUrl']],
      [
        `/api/admin/partners/${partnerId}/traders`,
        { traderId: 'trader-42', userName: 'Joao Santos' },
        ['trader_id', 'user_name', 'traderId', 'userName'],
      ],
    ] as const) {
      const res = await t.gw.inject({ method: 'POST', url, token: admin, body });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_ERROR');
      expect(new Set(res.json().error.details.fields.map((f: { field: string }) => f.field))).toEqual(new Set(fields));
    }
    expect(t.fakes.received).toEqual([]);
  });

  it('when sessions does not know the partner, then 404 PARTNER_NOT_FOUND with its message', async () => {
    t.fakes.answer(partnersRpc.get, () => refuse('PARTNER_NOT_FOUND', 'No partner has this id'));
    const res = await t.gw.inject({ url: `/api/admin/partners/${partnerId}`, token: admin });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatchObject({ code: 'PARTNER_NOT_FOUND', message: 'No partner has this id' });
  });
});
