import { rpcRoute, type Database, type RpcRoute } from '@offramp/kit';
import { sessionsRpc, withdrawalOperatorRpc } from '@offramp/contracts';
import { createSession, type CreateSessionDeps } from './sessions/create-session.ts';
import { initiateWithdrawal, type InitiateDeps } from './sessions/initiate.ts';
import { checkSessionOwner } from './sessions/session-owner.ts';
import { getWithdrawal, listWithdrawals } from './withdrawals/queries.ts';
import type { OperatorActions } from './withdrawals/operator.ts';

/** The sessions service's rpcs: the widget's (through the gateway) and the operators'. */
export function sessionsRoutes(deps: { db: Database; create: CreateSessionDeps; initiate: InitiateDeps; operator: OperatorActions }): RpcRoute[] {
  const { db, operator } = deps;
  return [
    rpcRoute(sessionsRpc.createSession, (req, ctx) => createSession(deps.create, req, ctx)),
    rpcRoute(sessionsRpc.initiateWithdrawal, (req, ctx) => initiateWithdrawal(deps.initiate, req, ctx.traceId)),
    rpcRoute(sessionsRpc.checkSessionOwner, (req) => checkSessionOwner(db, req)),
    rpcRoute(sessionsRpc.listWithdrawals, (req) => listWithdrawals(db, req)),
    rpcRoute(sessionsRpc.getWithdrawal, (req) => getWithdrawal(db, req)),
    rpcRoute(withdrawalOperatorRpc.approve, (req, ctx) => operator.approve(req, ctx.traceId)),
    rpcRoute(withdrawalOperatorRpc.reject, (req, ctx) => operator.reject(req, ctx.traceId)),
    rpcRoute(withdrawalOperatorRpc.complete, (req, ctx) => operator.complete(req, ctx.traceId)),
    rpcRoute(withdrawalOperatorRpc.process, (req, ctx) => operator.process(req, ctx.traceId)),
    rpcRoute(withdrawalOperatorRpc.overrideStatus, (req, ctx) => operator.overrideStatus(req, ctx.traceId)),
  ];
}
