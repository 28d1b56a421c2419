import { inTransaction, type Database, type OutboxRelay, type RpcHandler, type RpcContext } from '@offramp/kit';
import { ledgerRpc, type RpcDef } from '@offramp/contracts';
import { getBalances, openAccount } from './accounts/accounts.ts';
import { createTransfer, resolveHold } from './transfers/transfers.ts';
import { findTransfer, type AccountDirectory } from './transfers/store.ts';
import { checkLedger } from './check/check.ts';

type Route = [RpcDef, RpcHandler<RpcDef>];

function route<D extends RpcDef>(def: D, handler: RpcHandler<D>): Route {
  return [def, handler as unknown as RpcHandler<RpcDef>];
}

/** The ledger's rpcs: each a transaction, then a nudge to the outbox relay. */
export function ledgerRoutes(deps: { db: Database; relay: OutboxRelay; accounts: AccountDirectory }): Route[] {
  const { db, relay } = deps;
  const accounts = deps.accounts;
  const cause = (id: string, ctx: RpcContext) => ({ correlationId: id, causationId: null, traceId: ctx.traceId });
  const write = async <T>(fn: Parameters<typeof inTransaction<T>>[1]): Promise<T> => {
    const result = await inTransaction(db, fn);
    relay.wake();
    return result;
  };
  return [
    route(ledgerRpc.openAccount, (req, ctx) => write((em) => openAccount(em, req, cause(req.owner, ctx)))),
    route(ledgerRpc.transfer, (req, ctx) => write((em) => createTransfer(em, accounts, 'transfer', req, cause(req.id, ctx)))),
    route(ledgerRpc.placeHold, (req, ctx) => write((em) => createTransfer(em, accounts, 'hold', req, cause(req.id, ctx)))),
    route(ledgerRpc.postHold, (req, ctx) => write((em) => resolveHold(em, accounts, 'post', req, cause(req.holdId, ctx)))),
    route(ledgerRpc.voidHold, (req, ctx) => write((em) => resolveHold(em, accounts, 'void', req, cause(req.holdId, ctx)))),
    route(ledgerRpc.getBalances, async (req) => ({ balances: await getBalances(db.em.fork(), req.owner, req.currency) })),
    route(ledgerRpc.getTransfer, async (req) => ({ transfer: await findTransfer(db.em.fork(), req.id) })),
    route(ledgerRpc.check, () => checkLedger(db)),
  ];
}
