import { ok, paymentRoutes, pspAlfredRpc, reportsRpc } from '@offramp/contracts';
import { rpcRoute, type Database, type RpcRoute } from '@offramp/kit';
import type { FiatAccounts } from './fiat-accounts/fiat-accounts.ts';
import type { createQuotes } from './quotes/quotes.ts';
import type { Reconciler } from './reconciliation/reconciliation.ts';
import type { createKycActions } from './dev/kyc-actions.ts';
import type { createOfframpActions } from './dev/offramp-actions.ts';
import type { createOrderState } from './offramps/order-state.ts';
import type { createPartnerOrders } from './reports/partner-orders.ts';
import { eligibilityOf } from './traders/eligibility.ts';
import { findTrader } from './traders/traders.ts';

interface Deps {
  db: Database;
  fiatAccounts: FiatAccounts;
  quotes: ReturnType<typeof createQuotes>;
  reconciler: Reconciler;
  kyc: ReturnType<typeof createKycActions>;
  offramps: ReturnType<typeof createOfframpActions>;
  orderState: ReturnType<typeof createOrderState>;
  partnerOrders: ReturnType<typeof createPartnerOrders>;
}

/**
 * psp-alfred's rpcs. The dev ones are reachable only through the gateway's dev gate (DEV_ENDPOINTS
 * and the dev secret); here they are ordinary rpcs acting on the given trader.
 */
export function pspAlfredRoutes(deps: Deps): RpcRoute[] {
  const { db, fiatAccounts, quotes, reconciler, kyc, offramps, orderState, partnerOrders } = deps;
  const eligibility = async (traderId: string) => eligibilityOf(await findTrader(db.em.fork(), traderId));
  return [
    rpcRoute(pspAlfredRpc.eligibility, (req) => eligibility(req.traderId)),
    rpcRoute(pspAlfredRpc.supportedOptions, async (req) => {
      const result = await eligibility(req.traderId);
      if (!result.ok) return result;
      if (!result.data.eligible) return ok({ routes: [] });
      const country = result.data.country;
      const routes = paymentRoutes.filter((r) => r.country === country && r.available);
      return ok({ routes: routes.map((r) => ({ paymentRouteId: r.id, rail: r.rail, currency: r.currency, min: r.min, max: r.max })) });
    }),
    rpcRoute(pspAlfredRpc.quote, (req, ctx) => quotes.quote(req, ctx.log)),
    rpcRoute(pspAlfredRpc.listFiatAccounts, async (req) => ({ accounts: await fiatAccounts.list(req.traderId) })),
    rpcRoute(pspAlfredRpc.fiatAccountRequirements, async (req) => fiatAccounts.requirements(req.type)),
    rpcRoute(pspAlfredRpc.createFiatAccount, (req, ctx) => fiatAccounts.create(req, ctx.log)),
    rpcRoute(pspAlfredRpc.deleteFiatAccount, (req, ctx) => fiatAccounts.remove(req, ctx.log)),
    rpcRoute(pspAlfredRpc.getDestination, (req) => fiatAccounts.destination(req)),
    rpcRoute(pspAlfredRpc.syncStatuses, (req, ctx) =>
      reconciler.run({ olderThanSeconds: req.olderThanSeconds ?? 0, traceId: ctx.traceId }),
    ),
    rpcRoute(pspAlfredRpc.orderState, (req, ctx) => orderState(req, ctx)),
    rpcRoute(reportsRpc.partnerOrders, (req, ctx) => partnerOrders(req, ctx)),
    rpcRoute(pspAlfredRpc.devSeedKyc, (req) => kyc.seedKyc(req.traderId, req.country)),
    rpcRoute(pspAlfredRpc.devProvisionCustomer, (req, ctx) => kyc.provisionCustomer(req.traderId, ctx)),
    rpcRoute(pspAlfredRpc.devApproveKyc, (req, ctx) => kyc.driveKyc(req.traderId, 'COMPLETED', ctx)),
    rpcRoute(pspAlfredRpc.devEmitKycStatus, (req, ctx) => kyc.driveKyc(req.traderId, req.status, ctx)),
    rpcRoute(pspAlfredRpc.devEmitOfframp, (req, ctx) => offramps.emitOfframp(req, ctx)),
  ];
}
