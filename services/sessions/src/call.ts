import type { z } from 'zod';
import { callRpc, type Messaging } from '@offramp/kit';
import type { RpcDef } from '@offramp/contracts';

/** Calls another service's rpc with this service's timeout, carrying the trace id. */
export type Call = <D extends RpcDef>(def: D, req: z.output<D['request']>, traceId: string) => Promise<z.output<D['response']>>;

export function createCall(messaging: Messaging, timeoutMs: number): Call {
  return (def, req, traceId) => callRpc(messaging, def, req, { timeoutMs, traceId });
}
