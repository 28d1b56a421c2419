import { inTransaction, rpcRoute, type Database, type OutboxRelay, type RpcContext, type RpcRoute } from '@offramp/kit';
import { ledgerRpc } from '@offramp/contracts';
import type { LedgerConfig } from './config.ts';
import { getBalances, openAccount } from './accounts/accounts.ts';
import type { LedgerBatcher } from './transfers/batcher.ts';
import { findTransfer } from './transfers/transfers-store.ts';
import { checkLedger } from './check/check.ts';
import { devFund } from './dev/dev-fund.ts';

/**
 * The ledger's rpcs. Transfers, holds, posts and voids go through the group commit (`batcher`,
 * which wakes the outbox relay once per batch); the others are each a transaction, then a nudge to
 * the relay. The QA rpc is served only with DEV_RPCS: without it nobody answers its subject.
 */
export function ledgerRoutes(deps: { config: LedgerConfig; db: Database; relay: OutboxRelay; batcher: LedgerBatcher }): RpcRoute[] {
  const { config, db, relay, batcher } = deps;
  // An rpc has no envelope to be caused by: its own id correlates what it emits.
  const cause = (id: string, ctx: RpcContext) => ({ correlationId: id, causationId: null, traceId: ctx.traceId });
  const write = async <T>(fn: Parameters<typeof inTransaction<T>>[1]): Promise<T> => {
    const result = await inTransaction(db, fn);
    relay.wake();
    return result;
  };
  const routes = [
    rpcRoute(ledgerRpc.openAccount, (req, ctx) => write((em) => openAccount(em, req, cause(req.owner, ctx)))),
    rpcRoute(ledgerRpc.transfer, (req, ctx) => batcher.submit({ kind: 'transfer', request: req, cause: cause(req.id, ctx) })),
    rpcRoute(ledgerRpc.placeHold, (req, ctx) => batcher.submit({ kind: 'hold', request: req, cause: cause(req.id, ctx) })),
    rpcRoute(ledgerRpc.postHold, (req, ctx) => batcher.submit({ kind: 'post', request: req, cause: cause(req.holdId, ctx) })),
    rpcRoute(ledgerRpc.voidHold, (req, ctx) => batcher.submit({ kind: 'void', request: req, cause: cause(req.holdId, ctx) })),
    rpcRoute(ledgerRpc.getBalances, async (req) => ({ balances: await getBalances(db.em.fork(), req.owner, req.currency) })),
    rpcRoute(ledgerRpc.getTransfer, async (req) => ({ transfer: await findTransfer(db.em.fork(), req.id) })),
    rpcRoute(ledgerRpc.check, () => checkLedger(db)),
  ];
  if (config.DEV_RPCS) routes.push(rpcRoute(ledgerRpc.devFund, (req, ctx) => write((em) => devFund(em, req, cause(req.owner, ctx)))));
  return routes;
}
