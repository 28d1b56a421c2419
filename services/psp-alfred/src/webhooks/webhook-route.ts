import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import { storedKey } from '../dev/wait.ts';
import { AppError, inTransaction, parseExactJson, sendData, type Database, type Logger, type OutboxRelay } from '@offramp/kit';
import { webhookBody } from '../alfred/schemas.ts';
import { ingestPartnerEvent } from './ingest.ts';
import { createWebhookIntake } from './intake.ts';
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
  /** Told after a webhook was stored, by `storedKey` (its reference and status: the QA actions waiting for one). */
  stored?: (key: string) => void;
}

const webhookPath = '/psp/alfred/webhook';

/**
 * `parseExactJson`'s answer, without its reviver (a call per value: 5 of the 6 µs a webhook's
 * parse took) when the reviver cannot change it: a body without a backslash can only spell
 * `__proto__` or `constructor` in those very letters, and a body holding no number has none that
 * would be rounded. Anything else, and anything plain `JSON.parse` refuses, goes to `parseExactJson`
 * (so refusals and their messages are its own).
 */
export function parseWebhookJson(text: string): unknown {
  if (text.includes('\\') || text.includes('__proto__') || text.includes('constructor')) return parseExactJson(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return parseExactJson(text);
  }
  return holdsNumber(parsed) ? parseExactJson(text) : parsed;
}

/** Whether a parsed JSON value holds a number anywhere (walked with a stack: no recursion depth to exhaust). */
function holdsNumber(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (typeof v === 'number') return true;
    if (v !== null && typeof v === 'object') for (const inner of Array.isArray(v) ? v : Object.values(v)) pending.push(inner);
  }
  return false;
}

/**
 * `POST /psp/alfred/webhook`: Alfred's signed status events. The body is kept raw so the signature
 * is checked over the bytes Alfred signed; a bad or stale signature is 401 with nothing stored, a
 * malformed body 400; anything else is stored (duplicates counted) and answered 200 once committed,
 * OFFRAMP events in a batch with those arriving meanwhile (`createWebhookIntake`).
 */
export function registerWebhookRoute(app: FastifyInstance, deps: WebhookDeps): void {
  const now = deps.now ?? Date.now;
  const intake = createWebhookIntake({
    db: deps.db,
    log: deps.log,
    tolerancePct: deps.fiatTolerancePct,
    committed: () => deps.relay.wake(),
  });
  // The per-webhook line carries ids, a status and an outcome, never a secret: none of the redaction
  // paths can match it, and checking them cost 4 times what writing it does (30 µs against 7 a line). Its own logger
  // writes it without them (the refusals, which log what came in, keep the service's redaction).
  const storedLog = deps.log.child({}, { redact: [] });
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    // One log line per webhook (the one below, with its outcome and time) instead of three: Fastify's
    // request lines are left out of this route, refusals still log as warnings. Never more verbose
    // than the service's own level.
    const logLevel: RouteShorthandOptions['logLevel'] =
      deps.log.levelVal > deps.log.levels.values.warn! ? (deps.log.level as RouteShorthandOptions['logLevel']) : 'warn';
    scope.post(webhookPath, { ...webhookRouteOptions, logLevel }, async (request, reply) => {
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
        json = parseWebhookJson(text);
      } catch (err) {
        const fields = ((err as AppError).details as { fields?: { field: string }[] } | undefined)?.fields?.map((f) => f.field) ?? [
          '(body)',
        ];
        request.log.warn({ fields }, 'webhook refused: malformed body');
        throw new AppError('VALIDATION_ERROR', `Webhook body is malformed: ${(err as Error).message}`, { details: { fields } });
      }
      const parsed = webhookBody.safeParse(json);
      if (!parsed.success) {
        const fields = parsed.error.issues.map((i) => i.path.join('.') || '(body)');
        request.log.warn({ fields }, 'webhook refused: malformed body');
        throw new AppError('VALIDATION_ERROR', 'Webhook body is malformed', { details: { fields } });
      }
      const event = parsed.data;
      // OFFRAMP events (nearly all of them) are stored together with those arriving meanwhile; the rare others one by one.
      let outcome;
      if (event.eventType === 'OFFRAMP') outcome = await intake.submit({ event, rawBody: text, traceId: request.id });
      else {
        outcome = await inTransaction(deps.db, (em) =>
          ingestPartnerEvent(em, event, { source: 'webhook', rawBody: text, traceId: request.id, tolerancePct: deps.fiatTolerancePct }),
        );
        deps.relay.wake();
      }
      deps.stored?.(storedKey(event.referenceId, event.status));
      const signedAt = Number(/t=([0-9]+)/.exec(String(header))?.[1]);
      if (Number.isFinite(signedAt)) deps.lag?.observe(Math.max(0, now() / 1000 - signedAt));
      storedLog.info(
        {
          traceId: request.id,
          eventType: event.eventType,
          referenceId: event.referenceId,
          status: event.status,
          outcome,
          elapsedMs: Math.round(reply.elapsedTime),
        },
        'webhook stored',
      );
      return sendData(request, reply, { received: true, outcome });
    });
  });
}
