import type { FastifyInstance } from 'fastify';
import { AppError, inTransaction, parseExactJson, sendData, type Database, type Logger, type OutboxRelay } from '@offramp/kit';
import { webhookBody } from '../alfred/schemas.ts';
import { ingestPartnerEvent } from './ingest.ts';
import { webhookRouteOptions } from './webhook-openapi.ts';
import { verifySignature, type SignatureFormat } from './signature.ts';

export interface WebhookDeps {
  db: Database;
  relay: OutboxRelay;
  log: Logger;
  secret: string;
  format: SignatureFormat;
  toleranceSeconds: number;
  /** How far Alfred's fiat amount may drift from the accepted quote (amounts a webhook carries). */
  fiatTolerancePct: number;
  now?: () => number;
  /** Seconds from the signature's timestamp to the event being stored. */
  lag?: { observe(seconds: number): void };
}

const webhookPath = '/psp/alfred/webhook';

/**
 * `POST /psp/alfred/webhook`: Alfred's signed status events. The body is kept raw so the signature
 * is checked over the bytes Alfred signed; a bad or stale signature is 401 with nothing stored, a
 * malformed body 400; anything else is stored (duplicates counted) and answered 200 at once.
 */
export function registerWebhookRoute(app: FastifyInstance, deps: WebhookDeps): void {
  const now = deps.now ?? Date.now;
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope.post(webhookPath, webhookRouteOptions, async (request, reply) => {
      const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const header = request.headers.signature;
      const check = verifySignature({
        header: typeof header === 'string' ? header : undefined,
        rawBody,
        secret: deps.secret,
        format: deps.format,
        toleranceSeconds: deps.toleranceSeconds,
        nowMs: now(),
      });
      if (check !== 'valid') {
        request.log.warn({ check }, 'webhook refused: signature');
        throw new AppError(
          'UNAUTHORIZED',
          check === 'stale' ? 'Webhook signature is outside the allowed time window' : 'Invalid webhook signature',
        );
      }
      const text = rawBody.toString('utf8');
      let json: unknown;
      try {
        // Not JSON, prototype poisoning, or a number that would be rounded (never rounded: refused).
        json = parseExactJson(text);
      } catch (err) {
        const fields = ((err as AppError).details as { fields?: { field: string }[] } | undefined)?.fields?.map((f) => f.field) ?? [
          '(body)',
        ];
        throw new AppError('VALIDATION_ERROR', `Webhook body is malformed: ${(err as Error).message}`, { details: { fields } });
      }
      const parsed = webhookBody.safeParse(json);
      if (!parsed.success) {
        throw new AppError('VALIDATION_ERROR', 'Webhook body is malformed', {
          details: { fields: parsed.error.issues.map((i) => i.path.join('.') || '(body)') },
        });
      }
      const event = parsed.data;
      const outcome = await inTransaction(deps.db, (em) =>
        ingestPartnerEvent(em, event, { source: 'webhook', rawBody: text, traceId: request.id, tolerancePct: deps.fiatTolerancePct }),
      );
      deps.relay.wake();
      const signedAt = Number(/t=([0-9]+)/.exec(String(header))?.[1]);
      if (Number.isFinite(signedAt)) deps.lag?.observe(Math.max(0, now() / 1000 - signedAt));
      request.log.info({ eventType: event.eventType, referenceId: event.referenceId, status: event.status, outcome }, 'webhook stored');
      return sendData(request, reply, { received: true, outcome });
    });
  });
}
