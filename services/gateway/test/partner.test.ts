import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ok, partnersRpc, refuse, type PartnerRequestView } from '@offramp/contracts';
import { startTestGateway, type TestGateway } from './harness.ts';
import { startFakeResponders, type FakeResponders, type Received } from './fake-services.ts';

/**
 * The gateway's side of the partner API, against stand-ins for sessions' partner rpcs: what it
 * hands sessions to verify (the exact bytes), the order of the refusals, the statuses, the
 * content types and the rate limits (per key and address before the signature, per partner after it).
 */

/** Each key is a partner of its own, except the keys of one partner's servers (`pk_shared…`). */
const partnerIds = new Map<string, string>();
const partnerOfKey = (key: string) => {
  const k = key.startsWith('pk_shared') ? 'pk_shared' : key;
  if (!partnerIds.has(k)) partnerIds.set(k, `01970000-0000-7000-8000-${String(partnerIds.size + 1).padStart(12, '0')}`);
  return partnerIds.get(k)!;
};
/** A hash the stand-in refuses: a request its sender could not sign. */
const unsignable = 'ff'.repeat(32);
const view: PartnerRequestView = {
  withdrawRequestId: 'wr-1',
  withdrawRequestDate: 1_900_000_000_000,
  userId: 't-1',
  userName: 'Ana',
  withdrawalState: 'NEW',
  operationNo: '01970000-0000-7000-8000-00000000000a',
  conversion: {
    fiatAmount: '50.00',
    fiatCurrency: 'BRL',
    cryptoAmount: '10.000000',
    currency: 'USDT',
    rate: '5',
    quotedAt: '2030-01-01T00:00:00.000Z',
  },
  createdAt: '2030-01-01T00:00:00.000Z',
};
const body = {
  withdrawRequestId: 'wr-1',
  withdrawRequestDate: 1_900_000_000_000,
  userId: 't-1',
  userName: 'Ana',
  fiatCurrency: 'BRL',
  fiatAmount: '50.00',
  currency: 'USDT',
  fiatAccountId: 'fa-1',
};

describe('gateway: the partner API edge', () => {
  let gw: TestGateway;
  let sessions: FakeResponders<Received>;
  let created = true;
  let authenticated = true;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { PARTNER_RATE_LIMIT_MAX: '3', RATE_LIMIT_ANON_MAX: '1000' } });
    sessions = startFakeResponders(
      gw.messaging,
      'fake-partner-sessions',
      [
        [
          partnersRpc.authenticate,
          (req: { apiKeyId: string; payloadHash: string }) =>
            authenticated && req.payloadHash !== unsignable
              ? ok({ partnerId: partnerOfKey(req.apiKeyId) })
              : refuse('PARTNER_SIGNATURE_INVALID', 'bad hash'),
        ],
        [partnersRpc.createRequest, () => ok({ created, request: view })],
        [
          partnersRpc.getRequest,
          () => refuse('PARTNER_REQUEST_NOT_FOUND', 'No withdrawal request of this partner has this withdrawRequestId'),
        ],
      ],
      (r) => r,
    );
  });
  afterEach(() => {
    sessions.reset();
    created = true;
    authenticated = true;
  });
  afterAll(async () => {
    await sessions?.stop();
    await gw?.cleanup();
  });

  let keys = 0;
  /** A key of its own per request sequence, so the rate limit of one test does not reach another's. */
  const newKey = () => `pk_test_${++keys}`;

  const post = (raw: string, key = newKey(), headers: Record<string, string> = {}, from = '127.0.0.1') =>
    gw.inject({
      method: 'POST',
      url: '/partner/v1/withdrawal-requests',
      remoteAddress: from,
      body: raw,
      headers: { 'content-type': 'application/json', 'x-api-key': key, 'x-payload-hash': 'ab'.repeat(32), ...headers },
    });

  it('when a request arrives, then sessions is handed the exact raw bytes to verify and then the parsed request', async () => {
    const raw = `{ "withdrawRequestId":"wr-1",\n  "withdrawRequestDate": 1900000000000, "userId":"t-1","userName":"Ana","fiatCurrency":"BRL","fiatAmount":50,"currency":"USDT","fiatAccountId":"fa-1" }`;
    const r = await post(raw, 'pk_exact', { 'x-payload-hash': 'cd'.repeat(32) });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().data).toEqual(view);
    const [auth, create] = sessions.received;
    expect(auth?.subject).toBe(partnersRpc.authenticate.subject);
    expect(auth?.req).toMatchObject({ apiKeyId: 'pk_exact', payloadHash: 'cd'.repeat(32) });
    expect(Buffer.from(auth!.req.signed as string, 'base64').toString('utf8')).toBe(raw);
    expect(create?.subject).toBe(partnersRpc.createRequest.subject);
    expect(create?.req).toEqual({ partnerId: partnerOfKey('pk_exact'), request: { ...body, fiatAmount: '50' } });
  });

  it('when the same request was made before, then 200 with it', async () => {
    created = false;
    const r = await post(JSON.stringify(body));
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().data.operationNo).toBe(view.operationNo);
  });

  it('when the query is made, then the signed bytes are the request target as sent, path and query string', async () => {
    const key = newKey();
    const r = await gw.inject({
      url: '/partner/v1/withdrawal-requests/wr-1?trace=1',
      headers: { 'x-api-key': key, 'x-payload-hash': 'ab'.repeat(32) },
    });
    expect(r.statusCode, r.body).toBe(404);
    expect(r.json().error.code).toBe('PARTNER_REQUEST_NOT_FOUND');
    expect(Buffer.from(sessions.received[0]!.req.signed as string, 'base64').toString('utf8')).toBe(
      '/partner/v1/withdrawal-requests/wr-1?trace=1',
    );
    expect(sessions.received[1]?.req).toEqual({ partnerId: partnerOfKey(key), withdrawRequestId: 'wr-1' });
  });

  it('when the signature is refused, then 401 before the body is parsed or validated, and no request reaches sessions', async () => {
    authenticated = false;
    for (const raw of [JSON.stringify(body), JSON.stringify({ nonsense: true }), '{not json']) {
      const r = await post(raw);
      expect(r.statusCode, raw).toBe(401);
      expect(r.json().error.code).toBe('PARTNER_SIGNATURE_INVALID');
    }
    expect(new Set(sessions.subjects())).toEqual(new Set([partnersRpc.authenticate.subject]));
  });

  it('when a signed body is not JSON or not the contract, then 400 naming the fields; another content type is 415', async () => {
    const notJson = await post('{not json');
    expect(notJson.statusCode).toBe(400);
    const wrong = await post(JSON.stringify({ ...body, currency: 'BTC', fiatAmount: '50.001' }));
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.code).toBe('VALIDATION_ERROR');
    expect(JSON.stringify(wrong.json().error.details.fields)).toContain('currency');
    const text = await post(JSON.stringify(body), newKey(), { 'content-type': 'text/plain' });
    expect(text.statusCode).toBe(415);
    expect(sessions.subjects()).not.toContain(partnersRpc.createRequest.subject);
  });

  it('when one partner key goes over PARTNER_RATE_LIMIT_MAX, then it gets 429 and another key does not', async () => {
    const busy = newKey();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post(JSON.stringify(body), busy)).statusCode);
    expect(statuses).toEqual([201, 201, 201, 429]);
    const limited = await post(JSON.stringify(body), busy);
    expect(limited.json().error.code).toBe('RATE_LIMITED');
    expect((await post(JSON.stringify(body), newKey())).statusCode).toBe(201);
  });

  it('when a partner signs from several servers, then they share its budget', async () => {
    const statuses = [];
    for (const [key, from] of [
      ['pk_shared_a', '10.0.0.1'],
      ['pk_shared_b', '10.0.0.2'],
      ['pk_shared_a', '10.0.0.3'],
      ['pk_shared_b', '10.0.0.4'],
    ] as const)
      statuses.push((await post(JSON.stringify(body), key, {}, from)).statusCode);
    expect(statuses).toEqual([201, 201, 201, 429]);
  });

  it('when someone who knows a key sends requests it cannot sign, then they are refused and limited by their address, and the partner’s own budget is untouched', async () => {
    const key = newKey();
    const stranger = [];
    for (let i = 0; i < 5; i++)
      stranger.push((await post(JSON.stringify(body), key, { 'x-payload-hash': unsignable }, '192.0.2.7')).statusCode);
    expect(stranger).toEqual([401, 401, 401, 429, 429]);
    const partner = [];
    for (let i = 0; i < 3; i++) partner.push((await post(JSON.stringify(body), key, {}, '10.1.0.1')).statusCode);
    expect(partner).toEqual([201, 201, 201]);
  });
});
