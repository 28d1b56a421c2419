import { z } from 'zod';

/** Every message on the bus. `id` is a uuid v7 and doubles as the JetStream `Nats-Msg-Id`. */
export const envelopeHeader = z.object({
  id: z.uuid(),
  type: z.string().min(1),
  version: z.number().int().positive(),
  occurredAt: z.iso.datetime(),
  correlationId: z.string().min(1).max(200),
  causationId: z.string().max(200).nullable(),
  traceId: z.string().min(1).max(200),
});

export type EnvelopeHeader = z.infer<typeof envelopeHeader>;
export type Envelope<P> = EnvelopeHeader & { payload: P };

/** A message type: its subject and the schema of its payload. */
export interface MessageDef<S extends z.ZodType = z.ZodType> {
  subject: string;
  type: string;
  version: number;
  payload: S;
}

export function defineMessage<S extends z.ZodType>(subject: string, payload: S): MessageDef<S> {
  const m = /^(?:evt|cmd)\.([a-z0-9-]+)\.([a-z0-9-]+)\.v([0-9]+)$/.exec(subject);
  if (!m) throw new Error(`not a message subject: ${subject}`);
  return { subject, type: `${m[1]}.${m[2]}`, version: Number(m[3]), payload };
}

export function envelopeOf<S extends z.ZodType>(def: MessageDef<S>) {
  return envelopeHeader.extend({ payload: def.payload });
}

/** A synchronous call over core NATS request/reply. */
export interface RpcDef<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  subject: string;
  request: Req;
  response: Res;
}

export function defineRpc<Req extends z.ZodType, Res extends z.ZodType>(subject: string, request: Req, response: Res): RpcDef<Req, Res> {
  if (!/^rpc\.[a-z0-9-]+\.[a-z0-9-]+\.v[0-9]+$/.test(subject)) throw new Error(`not an rpc subject: ${subject}`);
  return { subject, request, response };
}

/**
 * What an rpc answers on the wire: the handler's result, or a failure that is not a business
 * outcome (bad request, unknown error, PSP_UNAVAILABLE: the server's database or a service it
 * needs is unavailable, retry later). Business outcomes live inside `result`.
 */
export const rpcFailure = z.object({
  ok: z.literal(false),
  error: z.object({
    code: z.enum(['VALIDATION_ERROR', 'INTERNAL', 'PSP_UNAVAILABLE']),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
