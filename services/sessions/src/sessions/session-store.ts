import { z } from 'zod';
import type { EntityManager } from '@offramp/kit';
import { fiatAccountView, quoteView, type QuoteView } from '@offramp/contracts';

/** SQL over sessions. Every function runs in the caller's transaction. */

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

interface SessionRow {
  id: string;
  trader_id: string;
  status: SessionStatus;
  withdrawal_id: string;
  payment_route_id: string;
  country: string;
  wallet_id: string;
  fiat_account_id: string;
  fiat_amount: string;
  fiat_currency: string;
  crypto_amount_minor: string;
  quote: unknown;
  destination: unknown;
  expires_at: Date;
}

const columns = `id, trader_id, status, withdrawal_id, payment_route_id, country, wallet_id, fiat_account_id, fiat_amount,
  fiat_currency, crypto_amount_minor::text as crypto_amount_minor, quote, destination, expires_at`;

function toSession(row: SessionRow): Session {
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
    cryptoAmountMinor: BigInt(row.crypto_amount_minor),
    quote: quoteView.parse(row.quote),
    destination: destination.parse(row.destination),
    expiresAt: new Date(row.expires_at),
  };
}

export async function insertSession(em: EntityManager, s: Omit<Session, 'status'>): Promise<void> {
  await em.execute(
    `insert into sessions (id, trader_id, status, withdrawal_id, payment_route_id, country, wallet_id, fiat_account_id, fiat_amount,
       fiat_currency, crypto_amount_minor, quote, destination, expires_at)
     values (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
      s.expiresAt,
    ],
    'run',
  );
}

export async function findSession(em: EntityManager, id: string, opts: { lock?: boolean } = {}): Promise<Session | null> {
  const [row] = await em.execute<SessionRow[]>(`select ${columns} from sessions where id = ?${opts.lock ? ' for update' : ''}`, [id]);
  return row ? toSession(row) : null;
}

/** Records the intent to initiate before any money moves; false when the session is no longer open or initiating. */
export async function markInitiating(em: EntityManager, id: string): Promise<boolean> {
  const res = await em.execute<{ affectedRows: number }>(
    `update sessions set status = 'initiating', initiating_at = now() where id = ? and status in ('open', 'initiating')`,
    [id],
    'run',
  );
  return res.affectedRows > 0;
}

/** Back to open after a refused hold (no money moved), unless something else already moved it on. */
export async function reopenSession(em: EntityManager, id: string): Promise<void> {
  await em.execute(`update sessions set status = 'open', initiating_at = null where id = ? and status = 'initiating'`, [id], 'run');
}

export async function setSessionStatus(em: EntityManager, id: string, status: 'consumed' | 'abandoned'): Promise<void> {
  await em.execute(`update sessions set status = ?, consumed_at = case when ? = 'consumed' then now() else consumed_at end where id = ?`, [status, status, id], 'run');
}

/**
 * Claims sessions stuck `initiating` for longer than `staleMs` (for update skip locked, so replicas
 * share the work) and stamps them again, which leases them to this sweeper for another period.
 */
export async function claimStaleInitiations(em: EntityManager, staleMs: number, limit: number): Promise<Session[]> {
  const rows = await em.execute<SessionRow[]>(
    `update sessions set initiating_at = now() where id in (
       select id from sessions where status = 'initiating' and initiating_at < now() - (? * interval '1 millisecond')
       order by initiating_at limit ? for update skip locked)
     returning ${columns}`,
    [staleMs, limit],
  );
  return rows.map(toSession);
}
