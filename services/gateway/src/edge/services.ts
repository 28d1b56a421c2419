import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { RpcDef, ServiceResult } from '@offramp/contracts';
import { AppError, callRpc, RpcError, type Logger, type Messaging } from '@offramp/kit';

/** How the gateway reaches the services: typed rpc calls that carry the request's trace id. */
export interface Services {
  call<D extends RpcDef>(request: FastifyRequest, def: D, req: z.output<D['request']>): Promise<z.output<D['response']>>;
}

/**
 * Calls over NATS. A service that does not answer in time (or at all), or answers that what it
 * stands on is unavailable (its database, say), is 503 PSP_UNAVAILABLE;
 * any other rpc failure is a bug on one side, logged here and answered as a bare 500.
 */
export function createServices(opts: { messaging: Messaging; timeoutMs: number; log: Logger }): Services {
  return {
    async call(request, def, req) {
      try {
        return await callRpc(opts.messaging, def, req, { timeoutMs: opts.timeoutMs, traceId: request.id });
      } catch (err) {
        throw edgeErrorOf(err, def.subject, request.log);
      }
    },
  };
}

function edgeErrorOf(err: unknown, subject: string, log: FastifyRequest['log']): unknown {
  if (err instanceof RpcError && err.unavailable) {
    log.warn({ rpc: subject, rpcError: err.code }, 'service unavailable');
    return new AppError('PSP_UNAVAILABLE', 'A service did not answer, try again later');
  }
  if (err instanceof RpcError) {
    log.error({ rpc: subject, rpcError: err.code, err }, 'rpc failed');
    return new AppError('INTERNAL');
  }
  return err;
}

/** The data of a service answer, or its refusal as the public error (with the service's status override). */
export function unwrap<T>(result: ServiceResult<T>): T {
  if (result.ok) return result.data;
  const { code, message, status, details } = result.error;
  throw new AppError(code, message, { statusCode: status, details });
}
