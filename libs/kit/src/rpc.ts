import { headers as natsHeaders, type Msg, type Subscription } from '@nats-io/nats-core';
import { z } from 'zod';
import { rpcFailure, type RpcDef } from '@offramp/contracts';
import { newId } from './ids.ts';
import { isInfrastructureError } from './infrastructure.ts';
import type { Logger } from './logger.ts';
import type { Messaging } from './nats.ts';
import type { Metrics } from './metrics.ts';

export interface RpcContext {
  traceId: string;
  log: Logger;
}

export type RpcHandler<D extends RpcDef> = (req: z.output<D['request']>, ctx: RpcContext) => Promise<z.output<D['response']>>;

/**
 * An rpc that did not produce an answer: timeout, no responder, the server's infrastructure
 * unavailable (PSP_UNAVAILABLE: its database is gone, say), bad request or a server fault.
 */
export class RpcError extends Error {
  readonly code: 'TIMEOUT' | 'NO_RESPONDERS' | 'PSP_UNAVAILABLE' | 'VALIDATION_ERROR' | 'INTERNAL' | 'BAD_RESPONSE';
  readonly details: unknown;
  /** The other side is unavailable right now (retry later), not wrong: see `isInfrastructureError`. */
  readonly unavailable: boolean;
  constructor(code: RpcError['code'], message: string, details?: unknown) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.details = details;
    this.unavailable = code === 'TIMEOUT' || code === 'NO_RESPONDERS' || code === 'PSP_UNAVAILABLE';
  }
}

export type RpcRoute = [RpcDef, RpcHandler<RpcDef>];

/** Pairs an rpc with its handler, keeping the handler typed by the rpc's schemas. */
export function rpcRoute<D extends RpcDef>(def: D, handler: RpcHandler<D>): RpcRoute {
  return [def, handler as unknown as RpcHandler<RpcDef>];
}

export interface RpcServer {
  /** Stops taking requests and waits for the ones in progress. */
  drain(): Promise<void>;
}

/**
 * Serves rpcs in a queue group (one replica answers each request). Requests are parsed with the
 * contract's schema; a bad one gets VALIDATION_ERROR; a handler that failed because the
 * infrastructure is unavailable (database, another service) gets PSP_UNAVAILABLE, so the caller
 * retries rather than report a bug; any other thrown error gets INTERNAL without details.
 */
export function serveRpcs(opts: { messaging: Messaging; log: Logger; metrics?: Metrics; queue: string }, routes: RpcRoute[]): RpcServer {
  const inFlight = new Set<Promise<void>>();
  const subs: Subscription[] = routes.map(([def, handler]) =>
    opts.messaging.nc.subscribe(opts.messaging.wire(def.subject), {
      queue: opts.queue,
      callback: (err, msg) => {
        if (err) return opts.log.error({ err, subject: def.subject }, 'rpc subscription error');
        const p = answer(def, handler, msg).finally(() => inFlight.delete(p));
        inFlight.add(p);
      },
    }),
  );

  async function answer(def: RpcDef, handler: RpcHandler<RpcDef>, msg: Msg): Promise<void> {
    const started = performance.now();
    const traceId = msg.headers?.get('trace-id') || newId();
    const log = opts.log.child({ traceId, rpc: def.subject });
    let result = 'ok';
    let body: unknown;
    try {
      const req = def.request.safeParse(msg.json());
      if (!req.success) {
        result = 'invalid';
        body = {
          ok: false,
          error: { code: 'VALIDATION_ERROR', message: 'invalid request', details: z.flattenError(req.error).fieldErrors },
        };
      } else {
        body = { ok: true, result: z.encode(def.response, await handler(req.data, { traceId, log })) };
      }
    } catch (err) {
      if (isInfrastructureError(err)) {
        result = 'unavailable';
        log.warn({ err }, 'rpc handler failed: infrastructure unavailable');
        body = { ok: false, error: { code: 'PSP_UNAVAILABLE', message: 'service unavailable, retry later' } };
      } else {
        result = 'error';
        log.error({ err }, 'rpc handler failed');
        body = { ok: false, error: { code: 'INTERNAL', message: 'internal error' } };
      }
    }
    msg.respond(JSON.stringify(body));
    opts.metrics?.rpcDuration.observe({ subject: def.subject, result }, (performance.now() - started) / 1000);
  }

  return {
    async drain() {
      await Promise.all(subs.map((s) => s.drain()));
      await Promise.allSettled([...inFlight]);
    },
  };
}

const okEnvelope = z.object({ ok: z.literal(true), result: z.unknown() });

/** Calls an rpc; validates both ways. Throws RpcError when there is no answer to return. */
export async function callRpc<D extends RpcDef>(
  messaging: Messaging,
  def: D,
  req: z.output<D['request']>,
  opts: { timeoutMs?: number; traceId?: string } = {},
): Promise<z.output<D['response']>> {
  const h = natsHeaders();
  h.set('trace-id', opts.traceId ?? newId());
  const encoded = def.request.safeEncode(req);
  if (!encoded.success)
    throw new RpcError('VALIDATION_ERROR', `${def.subject}: invalid request`, z.flattenError(encoded.error).fieldErrors);
  let reply: Msg;
  try {
    reply = await messaging.nc.request(messaging.wire(def.subject), JSON.stringify(encoded.data), {
      timeout: opts.timeoutMs ?? 5_000,
      headers: h,
    });
  } catch (err) {
    const text = String(err);
    if (/no responders/i.test(text) || (err as { code?: string }).code === '503')
      throw new RpcError('NO_RESPONDERS', `${def.subject}: no responders`);
    if (/timeout/i.test(text)) throw new RpcError('TIMEOUT', `${def.subject}: timed out`);
    throw err;
  }
  const body: unknown = reply.json();
  const failure = rpcFailure.safeParse(body);
  if (failure.success)
    throw new RpcError(failure.data.error.code, `${def.subject}: ${failure.data.error.message}`, failure.data.error.details);
  const ok = okEnvelope.safeParse(body);
  const result = ok.success ? def.response.safeParse(ok.data.result) : null;
  if (!result?.success) throw new RpcError('BAD_RESPONSE', `${def.subject}: response does not match the contract`);
  return result.data as z.output<D['response']>;
}
