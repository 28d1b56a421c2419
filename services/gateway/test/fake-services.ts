import { z } from 'zod';
import { ok, pspAlfredRpc, sessionsRpc, type QuoteView, type RpcDef, type WithdrawalView } from '@offramp/contracts';
import { newId, rpcRoute, serveRpcs, type Messaging, type RpcContext, type RpcServer } from '@offramp/kit';
import { testLogger } from '@offramp/kit/testing';

/** One rpc request as the fake service received it. */
export interface Received {
  subject: string;
  req: Record<string, unknown>;
  traceId: string;
}

type Handler = (req: never, ctx: RpcContext) => unknown;

export const sessionId = '01970000-0000-7000-8000-000000000001';
export const withdrawalId = '01970000-0000-7000-8000-00000000000a';

export function cannedQuote(): QuoteView {
  return {
    quoteId: 'q_1',
    fiatAmount: '50.00',
    fiatCurrency: 'BRL',
    cryptoAmountMinor: 9_523_810n,
    rate: '5.25',
    fees: [{ type: 'network', amount: '0.10', currency: 'USDT' }],
    expiresAt: '2030-01-01T00:10:00.000Z',
  };
}

export function cannedWithdrawal(traderId: string, id = withdrawalId): WithdrawalView {
  return {
    withdrawalId: id,
    traderId,
    status: 'processing',
    paymentRouteId: 'BR_PIX',
    fiatAccountId: 'fa_1',
    fiatAmount: '50.00',
    fiatCurrency: 'BRL',
    debitedMinor: 9_523_810n,
    pspTransactionId: 'tx_1',
    createdAt: '2030-01-01T00:00:00.000Z',
    updatedAt: '2030-01-01T00:01:00.000Z',
    timeline: [
      { from: null, to: 'pending', actor: `trader:${traderId}`, reason: null, refusedCode: null, at: '2030-01-01T00:00:00.000Z' },
      { from: 'pending', to: 'approved', actor: 'risk', reason: 'auto-approve', refusedCode: null, at: '2030-01-01T00:00:30.000Z' },
      { from: 'approved', to: 'processing', actor: 'system', reason: null, refusedCode: null, at: '2030-01-01T00:01:00.000Z' },
    ],
  };
}

type Req = { traderId: string } & Record<string, unknown>;

/** Happy answers of the services the gateway calls (psp-alfred and sessions), as their contracts say. */
function defaults(): [RpcDef, Handler][] {
  const h = <D extends RpcDef>(def: D, fn: (req: z.output<D['request']>) => z.output<D['response']>): [RpcDef, Handler] => [
    def,
    async (req) => fn(req as never),
  ];
  return [
    h(pspAlfredRpc.eligibility, () => ok({ eligible: true as const, country: 'BR', rails: ['PIX' as const] })),
    h(pspAlfredRpc.supportedOptions, () =>
      ok({ routes: [{ paymentRouteId: 'BR_PIX', rail: 'PIX' as const, currency: 'BRL', min: '10.00', max: '50000.00' }] }),
    ),
    h(pspAlfredRpc.quote, (r) => ok({ ...cannedQuote(), fiatAmount: r.fiatAmount, fiatCurrency: r.fiatCurrency })),
    h(pspAlfredRpc.listFiatAccounts, () => ({
      accounts: [
        {
          fiatAccountId: 'fa_1',
          type: 'PIX' as const,
          maskedNumber: '***6789',
          accountHolderName: 'Ana Souza',
          bankName: null,
          createdAt: '2030-01-01T00:00:00.000Z',
        },
      ],
    })),
    h(pspAlfredRpc.fiatAccountRequirements, () =>
      ok({
        type: 'PIX' as const,
        schema: { type: 'object', required: ['pixKey', 'documentNumber', 'accountName'], properties: { pixKey: { type: 'string' } } },
      }),
    ),
    h(pspAlfredRpc.createFiatAccount, () => ok({ fiatAccountId: 'fa_new' })),
    h(pspAlfredRpc.deleteFiatAccount, () => ok({ deleted: true as const })),
    h(pspAlfredRpc.devSeedKyc, (r) => ok({ kyc: 'approved', country: r.country })),
    h(pspAlfredRpc.devProvisionCustomer, () => ok({ customerId: 'cus_1', kycStatus: 'IN_REVIEW' })),
    h(pspAlfredRpc.devApproveKyc, () => ok({ kycStatus: 'COMPLETED' })),
    h(pspAlfredRpc.devEmitKycStatus, (r) => ok({ emitted: r.status })),
    h(pspAlfredRpc.devEmitOfframp, (r) => ok({ withdrawalId: r.withdrawalId, scenario: r.scenario })),
    h(sessionsRpc.createSession, () => ok({ sessionId, expiresAt: '2030-01-02T00:00:00.000Z', quote: cannedQuote() })),
    h(sessionsRpc.initiateWithdrawal, () =>
      ok({ withdrawalId, status: 'pending' as const, debited: { amountMinor: 9_523_810n, currency: 'USDT' as const } }),
    ),
    h(sessionsRpc.checkSessionOwner, (r) => ok({ sessionId: r.sessionId, withdrawalId })),
    h(sessionsRpc.listWithdrawals, (r) => ({ withdrawals: [cannedWithdrawal(r.traderId!)], total: 41 })),
    h(sessionsRpc.getWithdrawal, (r) => ok(cannedWithdrawal(r.traderId!, r.withdrawalId))),
  ];
}

export interface FakeResponders<E extends { subject: string }> {
  /** What they received, in order, as `record` wrote it down. */
  received: E[];
  /** Subjects received, in order. */
  subjects(): string[];
  /** Replaces one rpc's answer until `reset`. */
  answer<D extends RpcDef>(
    def: D,
    fn: (req: z.output<D['request']> & Req) => Promise<z.output<D['response']>> | z.output<D['response']>,
  ): void;
  reset(): void;
  stop(): Promise<void>;
}

export type FakeServices = FakeResponders<Received>;

/**
 * Small real NATS responders standing in for the services the gateway calls: they answer through
 * the kit's rpc server, so requests are parsed by the real contracts, each rpc with its default
 * answer unless a test replaced it, and they record what they received (`record` says how).
 */
export function startFakeResponders<E extends { subject: string }>(
  messaging: Messaging,
  name: string,
  answers: [RpcDef, Handler][],
  record: (received: Received) => E,
): FakeResponders<E> {
  const received: E[] = [];
  const overrides = new Map<string, Handler>();
  const routes = answers.map(([def, fallback]) =>
    rpcRoute(def, async (req, ctx) => {
      received.push(record({ subject: def.subject, req: req as Record<string, unknown>, traceId: ctx.traceId }));
      return (await (overrides.get(def.subject) ?? fallback)(req as never, ctx)) as never;
    }),
  );
  const server: RpcServer = serveRpcs({ messaging, log: testLogger(name), queue: `${name}-${newId()}` }, routes);
  return {
    received,
    subjects: () => received.map((r) => r.subject),
    answer: (def, fn) => void overrides.set(def.subject, async (req) => fn(req as never)),
    reset() {
      received.length = 0;
      overrides.clear();
    },
    stop: () => server.drain(),
  };
}

/** Stand-ins for psp-alfred and sessions, recording each request with its trace id. */
export function startFakeServices(messaging: Messaging): FakeServices {
  return startFakeResponders(messaging, 'fake-services', defaults(), (r) => r);
}
