import { describe, expect, it } from 'vitest';
import { exceptionsRpc, ok, refuse, riskRpc, sessionsRpc, type ExceptionView, type RpcDef } from '@offramp/contracts';
import type { Messaging } from '@offramp/kit';
import { cannedWithdrawal, startFakeResponders, withdrawalId } from './fake-services.ts';
import { tokenFor, useGatewayWithFakes } from './harness.ts';

const admin = tokenFor('op-1', { role: 'admin' });
const exceptionId = '01970000-0000-7000-8000-0000000000e1';
const transferId = '01970000-0000-7000-8000-0000000000f1';

/** An exception as sessions shows it: a double payment, 2 of 10 USDT recovered so far. */
function exceptionView(overrides: Partial<ExceptionView> = {}): ExceptionView {
  return {
    exceptionId,
    kind: 'partner_outcome_after_terminal',
    status: 'open',
    withdrawalId,
    traderId: 'alice',
    partnerReference: 'tx_1',
    facts: { withdrawalStatus: 'rejected', partnerStatus: 'FIAT_TRANSFER_COMPLETED' },
    exposure: 'trader_received_twice',
    amountMinor: 10_000_000n,
    outstandingMinor: 8_000_000n,
    openedAt: '2030-01-01T00:05:00.000Z',
    resolvedAt: null,
    resolution: null,
    actions: [
      {
        resolution: 'recover_from_trader',
        note: 'first part',
        operatorId: 'op-2',
        movedMinor: 2_000_000n,
        transferId,
        at: '2030-01-01T00:06:00.000Z',
      },
    ],
    ...overrides,
  };
}

// One table of responders over rpcs whose requests differ: each handler reads its own rpc's request.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Handler = (req: any) => unknown;

/** Real NATS responders for the exception rpcs, recording what they got. */
function startExceptionFakes(messaging: Messaging) {
  const defaults: [RpcDef, Handler][] = [
    [exceptionsRpc.list, () => ({ exceptions: [exceptionView()], total: 3 })],
    [exceptionsRpc.get, () => ok(exceptionView())],
    [
      exceptionsRpc.resolve,
      () =>
        ok(exceptionView({ status: 'resolved', resolution: 'write_off', outstandingMinor: 0n, resolvedAt: '2030-01-01T00:07:00.000Z' })),
    ],
    [riskRpc.getDecision, () => ({ decision: null })],
  ];
  return startFakeResponders(messaging, 'exception-fakes', defaults, ({ subject, req }) => ({ subject, req }));
}

describe('gateway exception queue routes (/api/admin/exceptions)', () => {
  const t = useGatewayWithFakes(startExceptionFakes);

  it('when exceptions are listed with filters, then sessions gets them and the rows are snake_case with USDT decimals and the resolutions still open', async () => {
    const res = await t.gw.inject({
      url: `/api/admin/exceptions?status=open&kind=partner_outcome_after_terminal&page=2&limit=10&withdrawal_id=${withdrawalId}`,
      token: admin,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({
      exceptions: [
        {
          exception_id: exceptionId,
          kind: 'partner_outcome_after_terminal',
          status: 'open',
          withdrawal_id: withdrawalId,
          user_id: 'alice',
          partner_reference: 'tx_1',
          facts: { withdrawalStatus: 'rejected', partnerStatus: 'FIAT_TRANSFER_COMPLETED' },
          exposure: 'trader_received_twice',
          amount: '10.000000',
          outstanding_amount: '8.000000',
          currency: 'USDT',
          opened_at: '2030-01-01T00:05:00.000Z',
          resolved_at: null,
          resolution: null,
          resolutions: ['recover_from_trader', 'write_off', 'dismiss'],
          actions: [
            {
              resolution: 'recover_from_trader',
              note: 'first part',
              operator_id: 'op-2',
              moved_amount: '2.000000',
              transfer_id: transferId,
              at: '2030-01-01T00:06:00.000Z',
            },
          ],
        },
      ],
      total: 3,
      page: 2,
      limit: 10,
    });
    expect(t.fakes.received).toEqual([
      {
        subject: exceptionsRpc.list.subject,
        req: { status: 'open', kind: 'partner_outcome_after_terminal', page: 2, limit: 10, withdrawalId },
      },
    ]);
  });

  it('when nothing is open, then exceptions is [] and total 0 with the defaults page 1 of 50', async () => {
    t.fakes.answer(exceptionsRpc.list, () => ({ exceptions: [], total: 0 }));
    const res = await t.gw.inject({ url: '/api/admin/exceptions', token: admin });
    expect(res.json().data).toEqual({ exceptions: [], total: 0, page: 1, limit: 50 });
    expect(t.fakes.received).toEqual([{ subject: exceptionsRpc.list.subject, req: { page: 1, limit: 50 } }]);
  });

  it('when one exception is asked, then its facts and actions; an unknown one is 404 EXCEPTION_NOT_FOUND', async () => {
    const res = await t.gw.inject({ url: `/api/admin/exceptions/${exceptionId}`, token: admin });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({
      exception_id: exceptionId,
      facts: { partnerStatus: 'FIAT_TRANSFER_COMPLETED' },
      actions: [{ operator_id: 'op-2' }],
    });
    expect(t.fakes.received).toEqual([{ subject: exceptionsRpc.get.subject, req: { exceptionId } }]);

    t.fakes.answer(exceptionsRpc.get, () => refuse('EXCEPTION_NOT_FOUND', 'Exception not found'));
    const missing = await t.gw.inject({ url: `/api/admin/exceptions/${exceptionId}`, token: admin });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('EXCEPTION_NOT_FOUND');
  });

  it('when an operator resolves, then sessions gets the resolution, the trimmed note and the operator id from the JWT; the answer is the resolved exception', async () => {
    const res = await t.gw.inject({
      method: 'POST',
      url: `/api/admin/exceptions/${exceptionId}/resolve`,
      token: admin,
      body: { resolution: 'write_off', note: '  trader unreachable ' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({ status: 'resolved', resolution: 'write_off', outstanding_amount: '0.000000', resolutions: [] });
    expect(t.fakes.received).toEqual([
      {
        subject: exceptionsRpc.resolve.subject,
        req: { exceptionId, operatorId: 'op-1', resolution: 'write_off', note: 'trader unreachable' },
      },
    ]);
  });

  it("when sessions refuses a resolve, then its 409 or 503 with the service's message", async () => {
    for (const [code, status] of [
      ['EXCEPTION_ALREADY_RESOLVED', 409],
      ['EXCEPTION_RESOLUTION_INVALID', 409],
      ['PSP_UNAVAILABLE', 503],
    ] as const) {
      t.fakes.answer(exceptionsRpc.resolve, () => refuse(code, `refused: ${code}`));
      const res = await t.gw.inject({
        method: 'POST',
        url: `/api/admin/exceptions/${exceptionId}/resolve`,
        token: admin,
        body: { resolution: 'dismiss', note: 'n' },
      });
      expect(res.statusCode, code).toBe(status);
      expect(res.json().error).toMatchObject({ code, message: `refused: ${code}` });
    }
  });

  it('when a trader token is used, then 403 FORBIDDEN on every exception route and no service is called', async () => {
    for (const [method, url, body] of [
      ['GET', '/api/admin/exceptions'],
      ['GET', `/api/admin/exceptions/${exceptionId}`],
      ['POST', `/api/admin/exceptions/${exceptionId}/resolve`, { resolution: 'dismiss', note: 'n' }],
    ] as const) {
      const res = await t.gw.inject({ method, url, token: tokenFor('alice'), body });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().error.code).toBe('FORBIDDEN');
    }
    expect(t.fakes.received).toEqual([]);
  });

  it('when a withdrawal detail has exceptions, then it links them', async () => {
    t.gw.fake.answer(sessionsRpc.getWithdrawal, () =>
      ok({ ...cannedWithdrawal('alice'), exceptions: [{ exceptionId, kind: 'partner_outcome_after_terminal', status: 'open' as const }] }),
    );
    const res = await t.gw.inject({ url: `/api/admin/withdrawals/${withdrawalId}`, token: admin });
    expect(res.statusCode).toBe(200);
    expect(res.json().data.exceptions).toEqual([{ exception_id: exceptionId, kind: 'partner_outcome_after_terminal', status: 'open' }]);
  });
});
