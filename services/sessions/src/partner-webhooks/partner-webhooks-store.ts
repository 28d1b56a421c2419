import { z } from 'zod';
import { queryRow, queryRows, queryRowsBound, type EntityManager } from '@offramp/kit';
import {
  partnerDeliveryHold,
  partnerDeliveryStatus,
  partnerWebhookEventType,
  partnerWebhookPayload,
  type PartnerDeliveryStatus,
  type PartnerDeliveryView,
  type PartnerWebhookPayload,
} from '@offramp/contracts';

/**
 * SQL over the partner webhook deliveries: raw, because the guards are single statements (the
 * webhook id's `on conflict do nothing`, the `skip locked` claim, the outcome recorded only by the
 * attempt that still holds the claim), through the kit's queryRows so every row is parsed with zod.
 * Those every partner's status change and delivery runs (the request read, the delivery's insert,
 * the claim, the outcome) are bound (`queryRowsBound`, fixed texts): Postgres parses them once per
 * connection instead of on every call. Each function runs in the caller's transaction.
 */

/** The partner request a withdrawal was made for, if any. */
export async function partnerRequestOf(
  em: EntityManager,
  withdrawalId: string,
): Promise<{ withdrawRequestId: string; partnerId: string } | null> {
  const [row] = await queryRowsBound(
    em,
    z.object({ withdraw_request_id: z.string(), partner_id: z.string() }),
    'select withdraw_request_id, partner_id from partner_requests where withdrawal_id = $1',
    [withdrawalId],
  );
  return row ? { withdrawRequestId: row.withdraw_request_id, partnerId: row.partner_id } : null;
}

export async function partnerExists(em: EntityManager, partnerId: string): Promise<boolean> {
  return (
    (await queryRow(em, z.object({ found: z.boolean() }), 'select true as found from partners where partner_id = ?', [partnerId])) !== null
  );
}

export interface NewDelivery {
  deliveryId: string;
  partnerId: string;
  withdrawRequestId: string;
  withdrawalId: string;
  webhookId: string;
  payload: PartnerWebhookPayload;
}

/** Records a pending delivery, due now; a second one with the same webhook id is ignored. Answers whether this call recorded it. */
export async function insertDelivery(em: EntityManager, d: NewDelivery): Promise<boolean> {
  const rows = await queryRowsBound(
    em,
    z.object({ delivery_id: z.string() }),
    `insert into partner_webhook_deliveries (delivery_id, partner_id, withdraw_request_id, withdrawal_id, webhook_id, event_type, payload, status)
     values ($1, $2, $3, $4, $5, $6, $7::json, 'pending')
     on conflict (webhook_id) do nothing returning delivery_id`,
    [d.deliveryId, d.partnerId, d.withdrawRequestId, d.withdrawalId, d.webhookId, d.payload.type, JSON.stringify(d.payload)],
  );
  return rows.length > 0;
}

/** A delivery claimed for one attempt: what to send, where, and with which secret (as stored). */
export interface ClaimedDelivery {
  deliveryId: string;
  partnerId: string;
  webhookId: string;
  /** The payload's text as recorded: the body, byte for byte, on every attempt. */
  body: string;
  /** Counting the attempt this claim starts. */
  attempts: number;
  status: PartnerDeliveryStatus;
  webhookUrl: string;
  webhookSecret: string;
}

const claimedRow = z.object({
  delivery_id: z.string(),
  partner_id: z.string(),
  webhook_id: z.string(),
  body: z.string(),
  attempts: z.number().int(),
  status: partnerDeliveryStatus,
  webhook_url: z.string(),
  webhook_secret: z.string(),
});

const toClaimed = (r: z.output<typeof claimedRow>): ClaimedDelivery => ({
  deliveryId: r.delivery_id,
  partnerId: r.partner_id,
  webhookId: r.webhook_id,
  body: r.body,
  attempts: r.attempts,
  status: r.status,
  webhookUrl: r.webhook_url,
  webhookSecret: r.webhook_secret,
});

/**
 * Claims due deliveries of active partners with a webhook URL, each only once every earlier
 * delivery of its withdrawal is delivered or given up, so a withdrawal's changes reach the partner
 * in order (the consumer records them in stream order, each in a later transaction, so `created_at`
 * orders them). A claim counts the attempt and moves `next_attempt_at` past the attempt's end
 * (`leaseMs`), so that no other loop or replica takes it meanwhile and a sender that died
 * mid-attempt leaves it due again then. Commits before sending; `skip locked` lets replicas share
 * the work. Deliveries of a disabled partner or one without a URL are left waiting.
 */
export async function claimDue(em: EntityManager, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const rows = await queryRowsBound(
    em,
    claimedRow,
    `with due as (
       select d.delivery_id from partner_webhook_deliveries d
       join partners p on p.partner_id = d.partner_id
       where d.status = 'pending' and d.next_attempt_at <= now() and p.status = 'active' and p.webhook_url is not null
         and not exists (
           select 1 from partner_webhook_deliveries e
           where e.withdrawal_id = d.withdrawal_id and e.status = 'pending' and (e.created_at, e.delivery_id) < (d.created_at, d.delivery_id)
         )
       order by d.next_attempt_at, d.created_at limit $1::int for update of d skip locked
     )
     update partner_webhook_deliveries d
     set attempts = d.attempts + 1, next_attempt_at = now() + ($2::float8 * interval '1 millisecond'), updated_at = now()
     from due, partners p
     where d.delivery_id = due.delivery_id and p.partner_id = d.partner_id
     returning d.delivery_id, d.partner_id, d.webhook_id, d.payload::text as body, d.attempts, d.status, p.webhook_url, p.webhook_secret`,
    [limit, leaseMs],
  );
  return rows.map(toClaimed);
}

const updatedRow = z.object({ delivery_id: z.string() });

/** What the partner's side of an attempt looked like: the 2xx status, or why not. */
export type AttemptResult = { outcome: 'delivered'; statusCode: number } | { outcome: 'failed'; statusCode: number | null; error: string };

const lookupRow = z.object({
  status: partnerDeliveryStatus,
  partner_status: z.string().nullable(),
  webhook_url: z.string().nullable(),
});

/**
 * For a replay: NOT_FOUND when the partner has no such delivery, UNAVAILABLE when the partner is
 * disabled or has no URL; otherwise the delivery claimed as for an attempt (a pending one's next
 * attempt moved past the replay's end, so the dispatcher does not send it at the same time).
 */
export async function claimForReplay(
  em: EntityManager,
  partnerId: string,
  deliveryId: string,
  leaseMs: number,
): Promise<{ found: 'not_found' } | { found: 'unavailable' } | { found: 'claimed'; delivery: ClaimedDelivery }> {
  const current = await queryRow(
    em,
    lookupRow,
    `select d.status, p.status as partner_status, p.webhook_url
     from partner_webhook_deliveries d left join partners p on p.partner_id = d.partner_id
     where d.delivery_id = ? and d.partner_id = ? for update of d`,
    [deliveryId, partnerId],
  );
  if (!current) return { found: 'not_found' };
  if (current.partner_status !== 'active' || current.webhook_url === null) return { found: 'unavailable' };
  const claimed = await queryRow(
    em,
    claimedRow,
    `update partner_webhook_deliveries d
     set attempts = d.attempts + 1, updated_at = now(),
       next_attempt_at = case when d.status = 'pending' then now() + (? * interval '1 millisecond') else d.next_attempt_at end
     from partners p
     where d.delivery_id = ? and p.partner_id = d.partner_id
     returning d.delivery_id, d.partner_id, d.webhook_id, d.payload::text as body, d.attempts, d.status, p.webhook_url, p.webhook_secret`,
    [leaseMs, deliveryId],
  );
  if (!claimed) throw new Error(`delivery ${deliveryId} locked but not updated`);
  return { found: 'claimed', delivery: toClaimed(claimed) };
}

/**
 * Records an attempt's outcome, only while the delivery still holds the claim that attempt took
 * (same attempt count): a slow attempt whose lease another took over cannot undo a later state.
 * Delivered: `delivered`. Failed: `pending` again at `retryAt`, or `failed` when it is null. A
 * delivery already `delivered` (a replay that failed) stays delivered; the failure is kept as its
 * last error. Answers whether the row was updated.
 */
export async function recordOutcome(
  em: EntityManager,
  d: Pick<ClaimedDelivery, 'deliveryId' | 'attempts'>,
  result: AttemptResult,
  retryAt: Date | null,
): Promise<boolean> {
  const claim = [d.deliveryId, d.attempts];
  if (result.outcome === 'delivered') {
    const updated = await queryRowsBound(
      em,
      updatedRow,
      `update partner_webhook_deliveries set status = 'delivered', delivered_at = now(), last_status_code = $3::int, last_error = null,
         updated_at = now()
       where delivery_id = $1 and attempts = $2::int returning delivery_id`,
      [...claim, result.statusCode],
    );
    return updated.length > 0;
  }
  const updated = await queryRowsBound(
    em,
    updatedRow,
    `update partner_webhook_deliveries set
       status = case when status = 'delivered' then status when $3::timestamptz is null then 'failed' else 'pending' end,
       next_attempt_at = coalesce($3::timestamptz, next_attempt_at),
       last_status_code = $4::int, last_error = $5::text, updated_at = now()
     where delivery_id = $1 and attempts = $2::int returning delivery_id`,
    [...claim, retryAt?.toISOString() ?? null, result.statusCode, result.error.slice(0, 1_000)],
  );
  return updated.length > 0;
}

/** The audit row of an operator's replay. */
export async function insertReplay(em: EntityManager, deliveryId: string, operatorId: string, result: AttemptResult): Promise<void> {
  await em.execute(
    'insert into partner_webhook_replays (delivery_id, operator_id, outcome, status_code, error) values (?, ?, ?, ?, ?)',
    [deliveryId, operatorId, result.outcome, result.statusCode, result.outcome === 'failed' ? result.error.slice(0, 1_000) : null],
    'run',
  );
}

const deliveryRow = z.object({
  delivery_id: z.string(),
  partner_id: z.string(),
  withdraw_request_id: z.string(),
  withdrawal_id: z.string(),
  webhook_id: z.string(),
  event_type: partnerWebhookEventType,
  payload: z.unknown(),
  status: partnerDeliveryStatus,
  attempts: z.number().int(),
  next_attempt_at: z.coerce.date(),
  last_status_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  delivered_at: z.coerce.date().nullable(),
  created_at: z.coerce.date(),
  on_hold: partnerDeliveryHold.nullable(),
});
type DeliveryRow = z.output<typeof deliveryRow>;

const replayRow = z.object({
  delivery_id: z.string(),
  operator_id: z.string(),
  outcome: z.enum(['delivered', 'failed']),
  status_code: z.number().int().nullable(),
  error: z.string().nullable(),
  at: z.coerce.date(),
});

const columns = `d.delivery_id, d.partner_id, d.withdraw_request_id, d.withdrawal_id, d.webhook_id, d.event_type, d.payload, d.status,
  d.attempts, d.next_attempt_at, d.last_status_code, d.last_error, d.delivered_at, d.created_at,
  case when d.status <> 'pending' then null
       when p.status is distinct from 'active' then 'partner_disabled'
       when p.webhook_url is null then 'no_webhook_url' end as on_hold`;
const from = 'from partner_webhook_deliveries d left join partners p on p.partner_id = d.partner_id';

export interface DeliveryFilter {
  partnerId: string;
  status?: PartnerDeliveryStatus | undefined;
  page: number;
  limit: number;
}

/** A partner's deliveries, newest first. */
export async function listDeliveryRows(em: EntityManager, f: DeliveryFilter): Promise<{ rows: DeliveryRow[]; total: number }> {
  const where = 'where d.partner_id = ? and (?::text is null or d.status = ?)';
  const params = [f.partnerId, f.status ?? null, f.status ?? null];
  const rows = await queryRows(
    em,
    deliveryRow,
    `select ${columns} ${from} ${where} order by d.created_at desc, d.delivery_id desc limit ? offset ?`,
    [...params, f.limit, (f.page - 1) * f.limit],
  );
  const count = await queryRow(
    em,
    z.object({ n: z.string() }),
    `select count(*)::text as n from partner_webhook_deliveries d ${where}`,
    params,
  );
  return { rows, total: Number(count?.n ?? 0) };
}

export async function findDeliveryRow(em: EntityManager, deliveryId: string): Promise<DeliveryRow | null> {
  return queryRow(em, deliveryRow, `select ${columns} ${from} where d.delivery_id = ?`, [deliveryId]);
}

/** The rows as the rpc answers them, each with its replays. The payload is parsed: a row that does not parse is a bug and throws. */
export async function toViews(em: EntityManager, rows: DeliveryRow[]): Promise<PartnerDeliveryView[]> {
  const replays = new Map<string, PartnerDeliveryView['replays']>(rows.map((r) => [r.delivery_id, []]));
  if (rows.length > 0) {
    const found = await queryRows(
      em,
      replayRow,
      'select delivery_id, operator_id, outcome, status_code, error, at from partner_webhook_replays where delivery_id = any(?::uuid[]) order by id',
      [`{${rows.map((r) => r.delivery_id).join(',')}}`],
    );
    for (const r of found) {
      replays.get(r.delivery_id)?.push({
        operatorId: r.operator_id,
        at: r.at.toISOString(),
        outcome: r.outcome,
        statusCode: r.status_code,
        error: r.error,
      });
    }
  }
  return rows.map((r) => ({
    deliveryId: r.delivery_id,
    partnerId: r.partner_id,
    withdrawRequestId: r.withdraw_request_id,
    withdrawalId: r.withdrawal_id,
    webhookId: r.webhook_id,
    eventType: r.event_type,
    payload: partnerWebhookPayload.parse(r.payload),
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.status === 'pending' ? r.next_attempt_at.toISOString() : null,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    deliveredAt: r.delivered_at?.toISOString() ?? null,
    createdAt: r.created_at.toISOString(),
    onHold: r.on_hold,
    replays: replays.get(r.delivery_id) ?? [],
  }));
}

/** Pending deliveries, `due` (sent now or after their backoff) or `held` (the partner disabled or without a URL). */
export async function countPending(em: EntityManager): Promise<{ due: number; held: number }> {
  const row = await queryRow(
    em,
    z.object({ due: z.number().int(), held: z.number().int() }),
    `select count(*) filter (where p.status = 'active' and p.webhook_url is not null)::int as due,
            count(*) filter (where p.status is distinct from 'active' or p.webhook_url is null)::int as held
     ${from} where d.status = 'pending'`,
  );
  return row ?? { due: 0, held: 0 };
}
