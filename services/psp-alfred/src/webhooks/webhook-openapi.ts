import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import { createJsonSchemaTransform, serializerCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { webhookBody } from '../alfred/schemas.ts';

/*
 * psp-alfred's own OpenAPI document (`/docs/json`): Alfred's signed webhook. The body schema is the
 * one the handler parses with, after the signature was checked over the raw bytes (so Fastify does
 * not validate it first: a bad signature must be 401 whatever the body).
 */

const traceId = '0197a3c2-5f7e-7c3a-9d41-2b6f0e8a1c55';
const envelopeOf = (
  code: 'VALIDATION_ERROR' | 'UNAUTHORIZED' | 'INTERNAL' | 'PSP_UNAVAILABLE',
  description: string,
  message: string,
  details?: z.ZodType,
) =>
  z
    .object({
      success: z.literal(false),
      error: z.object({ code: z.literal(code), message: z.string(), ...(details && { details: details.optional() }) }),
      trace_id: z.string(),
    })
    .meta({ description, examples: [{ success: false, error: { code, message }, trace_id: traceId }] });

const outcome = z.enum(['applied', 'duplicate', 'unknown_reference', 'stale', 'ignored']);

/** The route `schema` of `POST /psp/alfred/webhook`. */
const webhookRouteSchema = {
  operationId: 'receiveAlfredWebhook',
  summary: "Alfred's signed status event (KYC, KYB, ONRAMP, OFFRAMP)",
  description:
    'Alfred signs `t + "." + body` (or `t + body`, ALFRED_WEBHOOK_SIGNATURE_FORMAT=concat) with HMAC-SHA256 and the shared ALFRED_WEBHOOK_SECRET; ' +
    'the `signature` header carries `t=<unix seconds>,s=<hex digest>`, accepted within 300 s. ' +
    'Every signed event is stored once per (eventType, referenceId, status) and answered 200 at once, duplicates included.',
  tags: ['webhooks'],
  security: [],
  headers: z.object({
    signature: z
      .string()
      .regex(/^t=[0-9]{1,12},s=[0-9a-fA-F]{64}$/)
      .meta({
        description: 'HMAC-SHA256 of the signed string, with its timestamp',
        examples: ['t=1900000000,s=5f0c6a8e1b7d4c2a9e3f6b1d8c4a7e2f0b9d3c6a1e8f4b7d2c5a9e0f3b6d1c8a'],
      }),
  }),
  body: webhookBody.meta({
    examples: [{ referenceId: 'tx_01HZX3QF', eventType: 'OFFRAMP', status: 'FIAT_TRANSFER_COMPLETED', metadata: { fiatAmount: '100.00' } }],
  }),
  response: {
    200: z.object({ success: z.literal(true), data: z.object({ received: z.literal(true), outcome }), trace_id: z.string() }).meta({
      description: 'Stored (or a duplicate of one stored)',
      examples: [{ success: true, data: { received: true, outcome: 'applied' }, trace_id: traceId }],
    }),
    400: envelopeOf(
      'VALIDATION_ERROR',
      'The body is not JSON or not an event: `details.fields` names the fields',
      'Webhook body is malformed',
      z.object({ fields: z.array(z.string()) }),
    ),
    401: envelopeOf(
      'UNAUTHORIZED',
      'The signature is missing, malformed, wrong or outside the time window: nothing stored',
      'Invalid webhook signature',
    ),
    500: envelopeOf('INTERNAL', 'Internal error (a bug; logged with the trace id)', 'Internal error'),
    503: envelopeOf(
      'PSP_UNAVAILABLE',
      'The database is unavailable: nothing stored, Alfred retries',
      'The service is unavailable, try again later',
    ),
  },
};

/** The signature is checked over the raw bytes before the body is parsed: the handler parses with `webhookBody` itself. */
export const webhookRouteOptions: RouteShorthandOptions = {
  schema: webhookRouteSchema,
  validatorCompiler: () => (data: unknown) => ({ value: data }),
  serializerCompiler: serializerCompiler as RouteShorthandOptions['serializerCompiler'],
};

/** OpenAPI 3.1 at /docs/json. Register before the webhook route. */
export async function registerPspAlfredOpenApi(
  app: FastifyInstance,
  servers = [{ url: '/', description: 'The psp-alfred that serves this document (:8081 under `npm start`)' }],
): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Offramp psp-alfred',
        version: '1.0.0',
        description: "What Alfred calls: its signed webhook. Answers are envelopes `{success, data | error, trace_id}` as the gateway's.",
        license: { name: 'MIT', identifier: 'MIT' },
        contact: { name: 'Offramp maintainers' },
      },
      servers,
      tags: [{ name: 'webhooks', description: "Alfred's status events, signed with the shared secret" }],
    },
    hideUntagged: true,
    transform: createJsonSchemaTransform({ skipList: [], zodToJsonConfig: { target: 'draft-2020-12' } }),
  });
  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger());
}
