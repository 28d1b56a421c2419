import { z } from 'zod';
import { type EntityManager, queryRow, queryRows, queryRowsBound } from '@offramp/kit';
import { partnerStatus, withdrawalStatus, payoutFailureClass, type PartnerView } from '@offramp/contracts';

/**
 * SQL over the partner tables (migration 0010): raw, because the request's insert is a guard taken
 * under an advisory lock and the registry's changes are single guarded statements, read through
 * the kit's queryRows so that every row is parsed with zod. Every function runs in the caller's
 * transaction (or a fork). The secrets are read only by `partnerCredentials`.
 */

const partnerRow = z.object({
  partner_id: z.string(),
  name: z.string(),
  api_key_id: z.string(),
  status: partnerStatus,
  webhook_url: z.string().nullable(),
  created_at: z.coerce.date(),
  updated_at: z.coerce.date(),
});
type PartnerRow = z.output<typeof partnerRow>;
const partnerColumns = 'partner_id, name, api_key_id, status, webhook_url, created_at, updated_at';

const traderRow = z.object({ partner_id: z.string(), trader_id: z.string(), user_name: z.string(), linked_at: z.coerce.date() });

function toView(p: PartnerRow, traders: z.output<typeof traderRow>[]): PartnerView {
  return {
    partnerId: p.partner_id,
    name: p.name,
    apiKeyId: p.api_key_id,
    status: p.status,
    webhookUrl: p.webhook_url,
    traders: traders
      .filter((t) => t.partner_id === p.partner_id)
      .map((t) => ({ traderId: t.trader_id, userName: t.user_name, linkedAt: t.linked_at.toISOString() })),
    createdAt: p.created_at.toISOString(),
    updatedAt: p.updated_at.toISOString(),
  };
}

export async function insertPartner(
  em: EntityManager,
  p: { partnerId: string; name: string; apiKeyId: string; apiSecret: string; webhookSecret: string; webhookUrl: string | null },
): Promise<void> {
  await em.execute(
    `insert into partners (partner_id, name, api_key_id, api_secret, webhook_secret, webhook_url, status)
     values (?, ?, ?, ?, ?, ?, 'active')`,
    [p.partnerId, p.name, p.apiKeyId, p.apiSecret, p.webhookSecret, p.webhookUrl],
  );
}

/** The partner with its linked traders, or null. */
export async function partnerById(em: EntityManager, partnerId: string): Promise<PartnerView | null> {
  const p = await queryRow(em, partnerRow, `select ${partnerColumns} from partners where partner_id = ?`, [partnerId]);
  if (!p) return null;
  const traders = await queryRows(em, traderRow, 'select * from partner_traders where partner_id = ? order by linked_at, trader_id', [
    partnerId,
  ]);
  return toView(p, traders);
}

export interface PartnerListQuery {
  status?: z.infer<typeof partnerStatus> | undefined;
  page: number;
  limit: number;
}

/**
 * A page of partners, newest first (created_at, then partner id), optionally of one status, and
 * how many there are in all: paged in SQL, and only the page's partners' traders are read.
 */
export async function listPartners(em: EntityManager, q: PartnerListQuery): Promise<{ partners: PartnerView[]; total: number }> {
  const where = q.status ? 'where status = ?' : '';
  const params = q.status ? [q.status] : [];
  const partners = await queryRows(
    em,
    partnerRow,
    `select ${partnerColumns} from partners ${where} order by created_at desc, partner_id desc limit ? offset ?`,
    [...params, q.limit, (q.page - 1) * q.limit],
  );
  const count = await queryRow(em, z.object({ n: z.string() }), `select count(*)::text as n from partners ${where}`, params);
  const traders =
    partners.length > 0
      ? await queryRowsBound(
          em,
          traderRow,
          'select * from partner_traders where partner_id = any($1::uuid[]) order by linked_at, trader_id',
          [partners.map((p) => p.partner_id)],
        )
      : [];
  return { partners: partners.map((p) => toView(p, traders)), total: Number(count?.n ?? 0) };
}

/** Locks the partner's row until the transaction ends (the registry's changes take turns); false when there is none. */
export async function lockPartner(em: EntityManager, partnerId: string): Promise<boolean> {
  const row = await queryRow(em, z.object({ partner_id: z.string() }), 'select partner_id from partners where partner_id = ? for update', [
    partnerId,
  ]);
  return row !== null;
}

export async function updatePartner(
  em: EntityManager,
  partnerId: string,
  change: { status?: 'active' | 'disabled'; webhookUrl?: string | null; secrets?: { apiSecret: string; webhookSecret: string } },
): Promise<void> {
  const sets: string[] = ['updated_at = now()'];
  const params: unknown[] = [];
  if (change.status !== undefined) {
    sets.push('status = ?');
    params.push(change.status);
  }
  if (change.webhookUrl !== undefined) {
    sets.push('webhook_url = ?');
    params.push(change.webhookUrl);
  }
  if (change.secrets) {
    sets.push('api_secret = ?', 'webhook_secret = ?');
    params.push(change.secrets.apiSecret, change.secrets.webhookSecret);
  }
  await em.execute(`update partners set ${sets.join(', ')} where partner_id = ?`, [...params, partnerId]);
}

/** Links a trader to the partner (again: renames the link). */
export async function linkTrader(em: EntityManager, partnerId: string, traderId: string, userName: string): Promise<void> {
  await em.execute(
    `insert into partner_traders (partner_id, trader_id, user_name) values (?, ?, ?)
     on conflict (partner_id, trader_id) do update set user_name = excluded.user_name`,
    [partnerId, traderId, userName],
  );
}

/** Unlinks a trader; false when it was not linked. */
export async function unlinkTrader(em: EntityManager, partnerId: string, traderId: string): Promise<boolean> {
  const rows = await queryRows(
    em,
    z.object({ trader_id: z.string() }),
    'delete from partner_traders where partner_id = ? and trader_id = ? returning trader_id',
    [partnerId, traderId],
  );
  return rows.length > 0;
}

export async function isLinked(em: EntityManager, partnerId: string, traderId: string): Promise<boolean> {
  const row = await queryRow(
    em,
    z.object({ one: z.number() }),
    'select 1 as one from partner_traders where partner_id = ? and trader_id = ?',
    [partnerId, traderId],
  );
  return row !== null;
}

/** Appends to the partner audit (append-only): never a secret in `detail`. */
export async function auditPartner(
  em: EntityManager,
  e: { partnerId: string; action: string; actor: string; detail?: Record<string, unknown> },
): Promise<void> {
  await em.execute('insert into partner_audit (partner_id, action, actor, detail) values (?, ?, ?, ?::jsonb)', [
    e.partnerId,
    e.action,
    e.actor,
    JSON.stringify(e.detail ?? {}),
  ]);
}

export const auditRow = z.object({
  seq: z.coerce.number(),
  partner_id: z.string(),
  action: z.string(),
  actor: z.string(),
  detail: z.record(z.string(), z.unknown()),
  at: z.coerce.date(),
});

export const partnerAudit = (em: EntityManager, partnerId: string) =>
  queryRows(em, auditRow, 'select seq, partner_id, action, actor, detail, at from partner_audit where partner_id = ? order by seq', [
    partnerId,
  ]);

/** What verifying a partner's signature needs: the only read of the api secret. */
export const partnerCredentials = (em: EntityManager, apiKeyId: string) =>
  queryRow(
    em,
    z.object({ partner_id: z.string(), api_secret: z.string(), status: partnerStatus }),
    'select partner_id, api_secret, status from partners where api_key_id = ?',
    [apiKeyId],
  );

// Requests.

export const requestRow = z.object({
  withdraw_request_id: z.string(),
  partner_id: z.string(),
  session_id: z.string(),
  withdrawal_id: z.string(),
  body_hash: z.string(),
  withdraw_request_date: z.coerce.number(),
  user_id: z.string(),
  user_name: z.string(),
  fiat_account_id: z.string(),
  payment_route_id: z.string(),
  fiat_amount: z.string(),
  fiat_currency: z.string(),
  crypto_amount_minor: z.string().transform((s) => BigInt(s)),
  rate: z.string(),
  quoted_at: z.coerce.date(),
  created_at: z.coerce.date(),
});
export type RequestRow = z.output<typeof requestRow>;
const requestColumns = `withdraw_request_id, partner_id, session_id, withdrawal_id, body_hash, withdraw_request_date::text as withdraw_request_date,
  user_id, user_name, fiat_account_id, payment_route_id, fiat_amount, fiat_currency, crypto_amount_minor::text as crypto_amount_minor, rate,
  quoted_at, created_at`;

export const requestById = (em: EntityManager, withdrawRequestId: string) =>
  queryRow(em, requestRow, `select ${requestColumns} from partner_requests where withdraw_request_id = ?`, [withdrawRequestId]);

/** Serializes the creators of one request id until the end of the transaction. */
export async function lockRequestId(em: EntityManager, withdrawRequestId: string): Promise<void> {
  await queryRow(
    em,
    z.object({ locked: z.literal(true) }),
    `select true as locked from pg_advisory_xact_lock(hashtext('partner-request:' || ?))`,
    [withdrawRequestId],
  );
}

export async function insertRequest(em: EntityManager, r: Omit<RequestRow, 'created_at'>): Promise<RequestRow> {
  return (await queryRow(
    em,
    requestRow,
    `insert into partner_requests (withdraw_request_id, partner_id, session_id, withdrawal_id, body_hash, withdraw_request_date, user_id,
       user_name, fiat_account_id, payment_route_id, fiat_amount, fiat_currency, crypto_amount_minor, rate, quoted_at)
     values (?, ?, ?, ?, ?, ?::bigint, ?, ?, ?, ?, ?, ?, ?::numeric, ?, ?)
     returning ${requestColumns}`,
    [
      r.withdraw_request_id,
      r.partner_id,
      r.session_id,
      r.withdrawal_id,
      r.body_hash,
      String(r.withdraw_request_date),
      r.user_id,
      r.user_name,
      r.fiat_account_id,
      r.payment_route_id,
      r.fiat_amount,
      r.fiat_currency,
      r.crypto_amount_minor.toString(),
      r.rate,
      r.quoted_at,
    ],
  ))!;
}

/** The withdrawal of a request as the partner's answers need it; null while none exists (refused at initiation). */
export const requestWithdrawal = (em: EntityManager, withdrawalId: string) =>
  queryRow(
    em,
    z.object({
      status: withdrawalStatus,
      failure_class: payoutFailureClass.nullable(),
      debited_minor: z.string().transform((s) => BigInt(s)),
      created_at: z.coerce.date(),
      status_changed_at: z.coerce.date(),
    }),
    'select status, failure_class, debited_minor::text as debited_minor, created_at, status_changed_at from withdrawals where id = ?',
    [withdrawalId],
  );
