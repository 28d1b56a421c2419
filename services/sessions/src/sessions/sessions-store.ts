import { z } from 'zod';
import { executeBound, queryRows, queryRowsBound, sql, type EntityManager } from '@offramp/kit';
import { fiatAccountView, quoteView, type QuoteView } from '@offramp/contracts';
import { SessionEntity } from './sessions-entity.ts';

/**
 * Sessions are CRUD data: updated through their entity (`sessions-entity.ts`). Raw statements: the
 * insert every withdrawal begins with, the sweeper's `skip locked` claim, the guard that marks an
 * initiation, and the reads on every initiation's path (the gateway's owner check, the
 * initiation's own read): the entity manager's `findOne` with its hydration cost about 0.9-1.0 ms
 * of CPU per read where the same row through `queryRow` costs 0.26-0.34 ms (2,000 reads, two
 * rounds). Those on every withdrawal's path are bound (`queryRowsBound`, `executeBound`, fixed
 * texts): Postgres parses them once per connection instead of parsing and planning each call's
 * inlined text (pg_stat_statements: planning was ~45% of its CPU per withdrawal). Raw rows are
 * parsed with zod. Every function runs in the caller's transaction.
 */

/** What a withdrawal needs to know of its destination (from psp-alfred's getDestination), kept with the session. */
export const destination = z.object({
  fiatAccount: fiatAccountView,
  country: z.string().length(2),
  kycName: z.string(),
  destinationFingerprint: z.string(),
});
export type Destination = z.infer<typeof destination>;

export type SessionStatus = 'open' | 'initiating' | 'consumed' | 'abandoned';

export interface Session {
  id: string;
  traderId: string;
  status: SessionStatus;
  withdrawalId: string;
  paymentRouteId: string;
  country: string;
  walletId: string;
  fiatAccountId: string;
  fiatAmount: string;
  fiatCurrency: string;
  cryptoAmountMinor: bigint;
  quote: QuoteView;
  destination: Destination;
  expiresAt: Date;
}

/** A session as the sweeper's claim returns it (raw SQL: one `skip locked` statement), jsonb checked. */
const sessionRow = z.object({
  id: z.string(),
  trader_id: z.string(),
  status: z.enum(['open', 'initiating', 'consumed', 'abandoned']),
  withdrawal_id: z.string(),
  payment_route_id: z.string(),
  country: z.string(),
  wallet_id: z.string(),
  fiat_account_id: z.string(),
  fiat_amount: z.string(),
  fiat_currency: z.string(),
  crypto_amount_minor: z.string().transform((s) => BigInt(s)),
  quote: quoteView,
  destination,
  expires_at: z.coerce.date(),
});

const columns = `id, trader_id, status, withdrawal_id, payment_route_id, country, wallet_id, fiat_account_id, fiat_amount,
  fiat_currency, crypto_amount_minor::text as crypto_amount_minor, quote, destination, expires_at`;

function fromRow(row: z.output<typeof sessionRow>): Session {
  return {
    id: row.id,
    traderId: row.trader_id,
    status: row.status,
    withdrawalId: row.withdrawal_id,
    paymentRouteId: row.payment_route_id,
    country: row.country,
    walletId: row.wallet_id,
    fiatAccountId: row.fiat_account_id,
    fiatAmount: row.fiat_amount,
    fiatCurrency: row.fiat_currency,
    cryptoAmountMinor: row.crypto_amount_minor,
    quote: row.quote,
    destination: row.destination,
    expiresAt: row.expires_at,
  };
}

/**
 * Every withdrawal begins with this insert: bound (one fixed text, prepared once per connection)
 * rather than the entity manager's `insert`, whose inlined text Postgres parses and plans each time.
 */
export async function insertSession(em: EntityManager, s: Omit<Session, 'status'>): Promise<void> {
  await executeBound(
    em,
    `insert into sessions (id, trader_id, status, withdrawal_id, payment_route_id, country, wallet_id, fiat_account_id, fiat_amount,
       fiat_currency, crypto_amount_minor, quote, destination, expires_at)
     values ($1, $2, 'open', $3, $4, $5, $6, $7, $8, $9, $10::numeric, $11::jsonb, $12::jsonb, $13::timestamptz)`,
    [
      s.id,
      s.traderId,
      s.withdrawalId,
      s.paymentRouteId,
      s.country,
      s.walletId,
      s.fiatAccountId,
      s.fiatAmount,
      s.fiatCurrency,
      s.cryptoAmountMinor.toString(),
      JSON.stringify(z.encode(quoteView, s.quote)),
      JSON.stringify(z.encode(destination, s.destination)),
      s.expiresAt.toISOString(),
    ],
  );
}

const selectSession = `select ${columns} from sessions where id = $1`;
const selectSessionLocked = `${selectSession} for update`;

/** The session, read from the database each time, locked until the transaction ends with `lock`. */
export async function findSession(em: EntityManager, id: string, opts: { lock?: boolean } = {}): Promise<Session | null> {
  const [row] = await queryRowsBound(em, sessionRow, opts.lock ? selectSessionLocked : selectSession, [id]);
  return row ? fromRow(row) : null;
}

const ownerRow = z.object({ trader_id: z.string(), status: sessionRow.shape.status, withdrawal_id: z.string() });

/** Whose the session is, its status and its withdrawal id: what an owner check reads (not the quote nor the destination). */
export async function findSessionOwner(
  em: EntityManager,
  id: string,
): Promise<{ traderId: string; status: SessionStatus; withdrawalId: string } | null> {
  const [row] = await queryRowsBound(em, ownerRow, 'select trader_id, status, withdrawal_id from sessions where id = $1', [id]);
  return row ? { traderId: row.trader_id, status: row.status, withdrawalId: row.withdrawal_id } : null;
}

const markedRow = z.object({ id: z.string() });

/** Records the intent to initiate before any money moves; false when the session is no longer open or initiating. */
export async function markInitiating(em: EntityManager, id: string): Promise<boolean> {
  const rows = await queryRowsBound(
    em,
    markedRow,
    `update sessions set status = 'initiating', initiating_at = now() where id = $1 and status = any($2::text[]) returning id`,
    [id, ['open', 'initiating']],
  );
  return rows.length > 0;
}

/** Back to open after a refused hold (no money moved), unless something else already moved it on. */
export async function reopenSession(em: EntityManager, id: string): Promise<void> {
  await em.nativeUpdate(SessionEntity, { id, status: 'initiating' }, { status: 'open', initiatingAt: null });
}

export async function setSessionStatus(em: EntityManager, id: string, status: 'consumed' | 'abandoned'): Promise<void> {
  await em.nativeUpdate(SessionEntity, { id }, status === 'consumed' ? { status, consumedAt: sql`now()` } : { status });
}

/**
 * Claims sessions stuck `initiating` for longer than `staleMs` (for update skip locked, so replicas
 * share the work) and stamps them again, which leases them to this sweeper for another period.
 */
export async function claimStaleInitiations(em: EntityManager, staleMs: number, limit: number): Promise<Session[]> {
  const rows = await queryRows(
    em,
    sessionRow,
    `update sessions set initiating_at = now() where id in (
       select id from sessions where status = 'initiating' and initiating_at < now() - (? * interval '1 millisecond')
       order by initiating_at limit ? for update skip locked)
     returning ${columns}`,
    [staleMs, limit],
  );
  return rows.map(fromRow);
}
