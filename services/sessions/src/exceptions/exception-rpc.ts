import { rpcRoute, type RpcRoute } from '@offramp/kit';
import { exceptionsRpc } from '@offramp/contracts';
import { getException, listExceptions } from './queries.ts';
import { resolveException, type ResolveDeps } from './resolve.ts';

/** The exception queue's rpcs (operators, through the gateway). */
export function exceptionRoutes(deps: ResolveDeps): RpcRoute[] {
  return [
    rpcRoute(exceptionsRpc.list, (req) => listExceptions(deps.db, req)),
    rpcRoute(exceptionsRpc.get, (req) => getException(deps.db, req)),
    rpcRoute(exceptionsRpc.resolve, (req, ctx) => resolveException(deps, req, ctx.traceId)),
  ];
}
