import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ok,
  pspAlfredRpc,
  refuse,
  riskRpc,
  sessionsRpc,
  withdrawalOperatorRpc,
  type RpcDef,
  type WithdrawalView,
} from '@offramp/contracts';
import { newId, type Messaging } from '@offramp/kit';
import { cannedQuote, cannedWithdrawal, startFakeResponders, withdrawalId } from './fake-services.ts';
import { claims, jwtSecret, signJwt, startTestGateway, tokenFor, type TestGateway } from './harness.ts';

const admin = tokenFor('op-1', { role: 'admin' });
const at = '2030-01-01T00:00:30.000Z';
const freeze = {
  global: { frozen: false, reason: null, by: null, at: null },
  countries: { CO: { frozen: true, reason: 'incident', by: 'operator:op-1', at } },
};

/** A withdrawal as sessions shows it to operators: with quote, masked account and its own copy of the risk decision. */
function operatorView(status: WithdrawalView['status'] = 'in_review'): WithdrawalView {
  return {
    ...cannedWithdrawal('alice'),
    status,
    pspTransactionId: status === 'in_review' ? null : 'tx_1',
    timeline: [
      {
        from: null,
        to: 'pending',
        actor: 'trader:alice',
        reason: null,
        refusedCode: null,
        at: '2030-01-01T00:00:00.000Z',
        kind: 'transition',
      },
      { from: 'pending', to: 'in_review', actor: 'risk', reason: 'kyt_suspicious', refusedCode: null, at, kind: 'transition' },
      ...(status === 'in_review'
        ? []
        : [
            {
              from: 'in_review' as const,
              to: 'approved' as const,
              actor: 'operator:op-1',
              reason: 'looks fine',
              refusedCode: null,
              at: '2030-01-01T00:02:00.000Z',
            },
          ]),
    ],
    country: 'BR',
    quote: cannedQuote(),
    fiatAccount: { type: 'PIX', maskedNumber: '***8909', accountHolderName: 'Ana Souza', bankName: null },
    riskDecision: { decision: 'review', reasons: [{ code: 'kyt_suspicious', detail: 'from the copy' }], at },
    failureReason: null,
    settlementReference: null,
    stuckSince: null,
  };
}

// One table of responders over rpcs whose requests differ: each handler reads its own rpc's request.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Handler = (req: any) => unknown;

/** Real NATS responders for the rpcs only operators use (sessions operator actions, risk, psp-alfred sync), recording what they got. */
function startOperatorFakes(messaging: Messaging) {
  const defaults: [RpcDef, Handler][] = [
    ...Object.values(withdrawalOperatorRpc).map((def): [RpcDef, Handler] => [def, () => ok(operatorView('approved'))]),
    [
      riskRpc.getDecision,
      (r) => ({
        decision: {
          withdrawalId: r.withdrawalId,
          traderId: 'alice',
          country: 'BR',
          paymentRouteId: 'BR_PIX',
          debitedMinor: 9_523_810n,
          decision: 'review',
          reasons: [{ code: 'kyt_suspicious', detail: 'trader on the list' }],
          decidedAt: at,
        },
      }),
    ],
    [riskRpc.getFreeze, () => freeze],
    [riskRpc.setFreeze, () => freeze],
    [pspAlfredRpc.syncStatuses, () => ({ syncedCount: 0, failedCount: 0, details: [] })],
  ];
  return startFakeResponders(messaging, 'operator-fakes', defaults, ({ subject, req }) => ({ subject, req }));
}

describe('gateway operator routes (/api/admin)', () => {
  let gw: TestGateway;
  let ops: ReturnType<typeof startOperatorFakes>;
  const calls = () => [...gw.fake.received, ...ops.received].map((r) => [r.subject, r.req]);
  beforeAll(async () => {
    gw = await startTestGateway();
    ops = startOperatorFakes(gw.messaging);
  });
  afterAll(async () => {
    await ops?.stop();
    await gw?.cleanup();
  });
  beforeEach(() => {
    gw.fake.reset();
    ops.reset();
    gw.fake.answer(sessionsRpc.listWithdrawals, () => ({ withdrawals: [operatorView()], total: 7 }));
    gw.fake.answer(sessionsRpc.getWithdrawal, () => ok(operatorView()));
  });

  const routes: [string, string, unknown?][] = [
    ['GET', '/api/admin/withdrawals'],
    ['GET', '/api/admin/withdrawals/pending'],
    ['GET', `/api/admin/withdrawals/${withdrawalId}`],
    ['POST', `/api/admin/withdrawals/${withdrawalId}/approve`],
    ['POST', `/api/admin/withdrawals/${withdrawalId}/reject`, { reason: 'no' }],
    ['POST', `/api/admin/withdrawals/${withdrawalId}/process`],
    ['POST', `/api/admin/withdrawals/${withdrawalId}/complete`, { reference: 'r' }],
    ['PUT', `/api/admin/withdrawals/${withdrawalId}/status`, { status: 'rejected', reason: 'r' }],
    ['POST', '/api/admin/withdrawals/sync-statuses'],
    ['GET', '/api/admin/withdrawals/freeze'],
    ['PUT', '/api/admin/withdrawals/freeze', { frozen: true, reason: 'r' }],
    ['GET', '/api/admin/exceptions'],
    ['GET', `/api/admin/exceptions/${withdrawalId}`],
    ['POST', `/api/admin/exceptions/${withdrawalId}/resolve`, { resolution: 'dismiss', note: 'n' }],
  ];
  const refusals: [string, string | undefined, number, string][] = [
    ['there is no token', undefined, 401, 'UNAUTHORIZED'],
    [
      'the token is signed with another secret',
      signJwt(claims('op-1', { role: 'admin' }), { alg: 'HS256', secret: `${jwtSecret}-x` }),
      401,
      'UNAUTHORIZED',
    ],
    ['the admin token has expired', tokenFor('op-1', { role: 'admin', exp: Math.floor(Date.now() / 1000) - 5 }), 401, 'UNAUTHORIZED'],
    ['the token is a trader token', tokenFor('alice'), 403, 'FORBIDDEN'],
    ['the token claims another role', tokenFor('alice', { role: 'superuser' }), 403, 'FORBIDDEN'],
  ];
  for (const [when, token, status, code] of refusals) {
    it(`when ${when}, then every operator route answers ${status} ${code} and no service is called`, async () => {
      for (const [method, url, body] of routes) {
        const res = await gw.inject({ method, url, token, body });
        expect(res.statusCode, `${method} ${url}`).toBe(status);
        expect(res.json()).toMatchObject({ success: false, error: { code } });
      }
      expect(calls()).toEqual([]);
    });
  }

  it('when withdrawals are listed with filters, then sessions gets them without a trader of its own and the rows are snake_case', async () => {
    const res = await gw.inject({ url: '/api/admin/withdrawals?page=2&limit=10&status=in_review&user_id=alice&stuck=true', token: admin });
    expect(res.statusCode).toBe(200);
    const data = res.json().data;
    expect(data).toMatchObject({ total: 7, page: 2, limit: 10 });
    expect(data.withdrawals[0]).toMatchObject({
      withdrawal_id: withdrawalId,
      user_id: 'alice',
      status: 'in_review',
      country: 'BR',
      crypto_amount: '9.523810',
      fiat_amount: '50.00',
      fiat_account: { fiat_account_id: 'fa_1', type: 'PIX', masked_number: '***8909', account_holder_name: 'Ana Souza', bank_name: null },
      risk_decision: { decision: 'review', reasons: [{ code: 'kyt_suspicious', detail: 'from the copy' }], decided_at: at },
      psp_transaction: null,
      approved_by: null,
    });
    expect(calls()).toEqual([
      [sessionsRpc.listWithdrawals.subject, { page: 2, limit: 10, status: 'in_review', traderId: 'alice', stuck: true }],
    ]);
  });

  it('when nothing matches, then withdrawals is [] and total 0 with the defaults page 1 of 50', async () => {
    gw.fake.answer(sessionsRpc.listWithdrawals, () => ({ withdrawals: [], total: 0 }));
    const res = await gw.inject({ url: '/api/admin/withdrawals', token: admin });
    expect(res.json().data).toEqual({ withdrawals: [], total: 0, page: 1, limit: 50 });
    expect(calls()).toEqual([[sessionsRpc.listWithdrawals.subject, { page: 1, limit: 50 }]]);
  });

  it('when the pending queue is asked, then it is the in_review list, not a withdrawal called "pending"', async () => {
    const res = await gw.inject({ url: '/api/admin/withdrawals/pending?limit=5', token: admin });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({ total: 7, page: 1, limit: 5, withdrawals: [{ status: 'in_review' }] });
    expect(calls()).toEqual([[sessionsRpc.listWithdrawals.subject, { status: 'in_review', page: 1, limit: 5 }]]);
  });

  it("when one withdrawal is asked, then the details carry quote, masked account, risk's recorded decision, PSP transaction and timeline", async () => {
    gw.fake.answer(sessionsRpc.getWithdrawal, () => ok(operatorView('approved')));
    const res = await gw.inject({ url: `/api/admin/withdrawals/${withdrawalId}`, token: admin });
    expect(res.statusCode).toBe(200);
    const data = res.json().data;
    expect(data.quote).toMatchObject({ quote_id: 'q_1', fiat_amount: '50.00', crypto_amount: '9.523810', rate: '5.25' });
    expect(data.fiat_account.masked_number).toBe('***8909');
    expect(data.risk_decision).toEqual({
      decision: 'review',
      reasons: [{ code: 'kyt_suspicious', detail: 'trader on the list' }],
      decided_at: at,
    });
    expect(data.psp_transaction).toEqual({ provider: 'alfred', transaction_id: 'tx_1', settlement_reference: null });
    expect(data).toMatchObject({ approved_by: 'operator:op-1', approved_at: '2030-01-01T00:02:00.000Z' });
    expect(data.timeline.at(-1)).toEqual({
      kind: 'transition',
      from: 'in_review',
      to: 'approved',
      actor: 'operator:op-1',
      reason: 'looks fine',
      refused_code: null,
      at: '2030-01-01T00:02:00.000Z',
    });
    expect(calls()).toEqual(
      expect.arrayContaining([
        [sessionsRpc.getWithdrawal.subject, { withdrawalId }],
        [riskRpc.getDecision.subject, { withdrawalId }],
      ]),
    );
  });

  it('when an unknown withdrawal is asked, then 404 WITHDRAWAL_NOT_FOUND', async () => {
    gw.fake.answer(sessionsRpc.getWithdrawal, () => refuse('WITHDRAWAL_NOT_FOUND', 'Withdrawal not found'));
    const res = await gw.inject({ url: `/api/admin/withdrawals/${withdrawalId}`, token: admin });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('WITHDRAWAL_NOT_FOUND');
  });

  it('when an operator approves with a JSON content type and no body, then sessions gets the operator id from the JWT sub', async () => {
    const res = await gw.inject({
      method: 'POST',
      url: `/api/admin/withdrawals/${withdrawalId}/approve`,
      token: admin,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({ withdrawal_id: withdrawalId, status: 'approved', approved_by: 'operator:op-1' });
    expect(calls()).toEqual([[withdrawalOperatorRpc.approve.subject, { withdrawalId, operatorId: 'op-1' }]]);
  });

  it('when every action is taken, then each rpc gets exactly the body fields, trimmed, with the operator id', async () => {
    const actions: [string, string, unknown, RpcDef, Record<string, unknown>][] = [
      ['POST', 'approve', { reason: ' checked docs ' }, withdrawalOperatorRpc.approve, { reason: 'checked docs' }],
      ['POST', 'reject', { reason: 'Insufficient verification' }, withdrawalOperatorRpc.reject, { reason: 'Insufficient verification' }],
      ['POST', 'process', {}, withdrawalOperatorRpc.process, {}],
      [
        'POST',
        'complete',
        { reference: 'E2E-REF-1', notes: 'bank statement' },
        withdrawalOperatorRpc.complete,
        { reference: 'E2E-REF-1', notes: 'bank statement' },
      ],
      [
        'PUT',
        'status',
        { status: 'rejected', reason: 'partner lost it', reference: 'INC-7' },
        withdrawalOperatorRpc.overrideStatus,
        { status: 'rejected', reason: 'partner lost it', reference: 'INC-7' },
      ],
    ];
    for (const [method, path, body, def, fields] of actions) {
      ops.reset();
      const res = await gw.inject({ method, url: `/api/admin/withdrawals/${withdrawalId}/${path}`, token: admin, body });
      expect(res.statusCode, path).toBe(200);
      expect(ops.received).toEqual([{ subject: def.subject, req: { withdrawalId, operatorId: 'op-1', ...fields } }]);
    }
  });

  it('when sessions refuses an illegal transition, then 409 ALFRED_INCORRECT_STATUS_CHANGE with its details', async () => {
    ops.answer(withdrawalOperatorRpc.approve, () =>
      refuse('ALFRED_INCORRECT_STATUS_CHANGE', 'A completed withdrawal cannot become approved', {
        details: { from: 'completed', to: 'approved' },
      }),
    );
    const res = await gw.inject({ method: 'POST', url: `/api/admin/withdrawals/${withdrawalId}/approve`, token: admin });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toEqual({
      code: 'ALFRED_INCORRECT_STATUS_CHANGE',
      message: 'A completed withdrawal cannot become approved',
      details: { from: 'completed', to: 'approved' },
    });
  });

  it('when statuses are synced, then psp-alfred polls every open order and the report comes back with both spellings of the counts', async () => {
    ops.answer(pspAlfredRpc.syncStatuses, () => ({
      syncedCount: 1,
      failedCount: 1,
      details: [
        {
          withdrawalId,
          transactionId: 'tx_1',
          previousStatus: 'CREATED' as const,
          status: 'FIAT_TRANSFER_COMPLETED' as const,
          outcome: 'updated' as const,
        },
        {
          withdrawalId: newId(),
          transactionId: 'tx_2',
          previousStatus: 'CREATED' as const,
          status: null,
          outcome: 'failed' as const,
          error: 'alfred answered 503',
        },
      ],
    }));
    const res = await gw.inject({ method: 'POST', url: '/api/admin/withdrawals/sync-statuses', token: admin });
    expect(res.statusCode).toBe(200);
    const data = res.json().data;
    expect(data).toMatchObject({ syncedCount: 1, failedCount: 1, synced_count: 1, failed_count: 1 });
    expect(data.details[0]).toEqual({
      withdrawal_id: withdrawalId,
      transaction_id: 'tx_1',
      previous_status: 'CREATED',
      status: 'FIAT_TRANSFER_COMPLETED',
      outcome: 'updated',
      synced: true,
      error: null,
    });
    expect(data.details[1]).toMatchObject({ synced: false, error: 'alfred answered 503' });
    expect(calls()).toEqual([[pspAlfredRpc.syncStatuses.subject, { olderThanSeconds: 0 }]]);
  });

  it('when the freeze is set for a lower-case country and read back, then risk gets the upper-case country and the operator', async () => {
    const put = await gw.inject({
      method: 'PUT',
      url: '/api/admin/withdrawals/freeze',
      token: admin,
      body: { frozen: true, country: 'co', reason: 'incident' },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json().data).toEqual(freeze);
    const get = await gw.inject({ url: '/api/admin/withdrawals/freeze', token: admin });
    expect(get.json().data).toEqual(freeze);
    expect(calls()).toEqual([
      [riskRpc.setFreeze.subject, { frozen: true, country: 'CO', reason: 'incident', operatorId: 'operator:op-1' }],
      [riskRpc.getFreeze.subject, {}],
    ]);
  });

  it('when the body is not JSON, then 400 VALIDATION_ERROR in the envelope and no service is called', async () => {
    const res = await gw.inject({
      method: 'POST',
      url: `/api/admin/withdrawals/${withdrawalId}/reject`,
      token: admin,
      body: '{"reason":',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR' } });
    expect(calls()).toEqual([]);
  });

  it('when the OpenAPI document is asked, then it lists every operator route with bearer auth', async () => {
    const doc = (await gw.inject({ url: '/docs/json' })).json();
    const listed = Object.entries(doc.paths as Record<string, Record<string, { security?: unknown }>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const expected = routes.map(([method, url]) => `${method} ${url.replace(withdrawalId, '{id}')}`);
    for (const route of expected) expect(listed).toContain(route);
    expect(doc.paths['/api/admin/withdrawals/{id}/reject'].post.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/api/admin/withdrawals/{id}/reject'].post.requestBody.content['application/json'].schema.required).toEqual([
      'reason',
    ]);
  });

  const id = `/api/admin/withdrawals/${withdrawalId}`;
  const invalid: [string, string, string, unknown, string[]][] = [
    ['a list over the limit with an unknown status', 'GET', '/api/admin/withdrawals?limit=101&status=done', undefined, ['limit', 'status']],
    [
      'a list for a bad user id and a bad stuck flag',
      'GET',
      '/api/admin/withdrawals?user_id=a%20b&stuck=yes&page=0',
      undefined,
      ['user_id', 'stuck', 'page'],
    ],
    ['the pending queue with a bad page', 'GET', '/api/admin/withdrawals/pending?page=x', undefined, ['page']],
    ['details by a bad id', 'GET', '/api/admin/withdrawals/not-a-uuid', undefined, ['id']],
    ['approve with an unknown field', 'POST', `${id}/approve`, { operatorId: 'someone' }, ['operatorId']],
    ['reject without a reason', 'POST', `${id}/reject`, {}, ['reason']],
    ['reject with a blank reason', 'POST', `${id}/reject`, { reason: '   ' }, ['reason']],
    ['process with a body', 'POST', `${id}/process`, { finalAmount: '1' }, ['finalAmount']],
    ['complete without a reference and a txHash', 'POST', `${id}/complete`, { txHash: '0x1' }, ['reference', 'txHash']],
    ['a status override to an unknown status without a reason', 'PUT', `${id}/status`, { status: 'failed' }, ['status', 'reason']],
    ['sync with a body', 'POST', '/api/admin/withdrawals/sync-statuses', { all: true }, ['all']],
    [
      'a freeze without frozen and with a bad country',
      'PUT',
      '/api/admin/withdrawals/freeze',
      { frozen: 'yes', country: 'COL', reason: 'x' },
      ['frozen', 'country'],
    ],
    ['a freeze without a reason', 'PUT', '/api/admin/withdrawals/freeze', { frozen: false }, ['reason']],
    [
      'exceptions with an unknown status, kind and a bad page',
      'GET',
      '/api/admin/exceptions?status=closed&kind=oops&page=0',
      undefined,
      ['status', 'kind', 'page'],
    ],
    [
      'exceptions over the limit for a bad withdrawal id',
      'GET',
      '/api/admin/exceptions?limit=101&withdrawal_id=w1',
      undefined,
      ['limit', 'withdrawal_id'],
    ],
    ['one exception by a bad id', 'GET', '/api/admin/exceptions/not-a-uuid', undefined, ['id']],
    ['a resolve without a body', 'POST', `/api/admin/exceptions/${withdrawalId}/resolve`, undefined, ['(body)']],
    [
      'a resolve with an unknown resolution and a blank note',
      'POST',
      `/api/admin/exceptions/${withdrawalId}/resolve`,
      { resolution: 'refund', note: '  ' },
      ['resolution', 'note'],
    ],
    [
      'a resolve naming an operator and an amount',
      'POST',
      `/api/admin/exceptions/${withdrawalId}/resolve`,
      { resolution: 'dismiss', note: 'n', operatorId: 'x', amount: '1' },
      ['operatorId', 'amount'],
    ],
    [
      'a resolve with a note over 1000 characters',
      'POST',
      `/api/admin/exceptions/${withdrawalId}/resolve`,
      { resolution: 'dismiss', note: 'n'.repeat(1001) },
      ['note'],
    ],
  ];
  for (const [when, method, url, body, fields] of invalid) {
    it(`when ${when}, then 400 VALIDATION_ERROR names ${fields.join(', ')} and no service is called`, async () => {
      const res = await gw.inject({ method, url, token: admin, body });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_ERROR');
      const named = res.json().error.details.fields.map((f: { field: string }) => f.field);
      expect([...new Set(named)].sort()).toEqual([...fields].sort());
      expect(calls()).toEqual([]);
    });
  }
});
