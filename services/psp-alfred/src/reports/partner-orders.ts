import { z } from 'zod';
import { ok, type PartnerLookup, type reportsRpc, type ServiceResult } from '@offramp/contracts';
import { queryRows, type Database, type RpcContext } from '@offramp/kit';
import type { AlfredClient } from '../alfred/client.ts';
import { onUserPath } from '../alfred/user-path.ts';

type Request = z.output<typeof reportsRpc.partnerOrders.request>;
type Answer = { orders: PartnerLookup[]; others: PartnerLookup[] };

const stored = z.object({
  withdrawal_id: z.string(),
  state: z.enum(['requested', 'created', 'refused', 'fenced']),
  transaction_id: z.string().nullable(),
  last_request: z.unknown().nullable(),
});
type Stored = z.output<typeof stored>;

/** How many orders are read at Alfred at once. */
const parallel = 8;

/**
 * `rpc.psp-alfred.report-partner-orders.v1` (the daily reconciliation report): each named
 * withdrawal's order as Alfred reports it now (GET /offramp/{transactionId} through the client and
 * its breaker), and the orders psp-alfred created or saw move on the day (UTC) for withdrawals not
 * named that Alfred reports paid out: money that left at the partner for a withdrawal the day's
 * settlements do not show. Alfred's API lists orders only per customer, so those candidates come
 * from psp-alfred's store. Read-only: what the readings show is the report's, not the mirror's.
 */
export function createPartnerOrders(deps: { db: Database; alfred: AlfredClient }) {
  const lookup = async (s: Stored): Promise<PartnerLookup> => {
    const base = { withdrawalId: s.withdrawal_id, transactionId: s.transaction_id };
    if (s.transaction_id === null) {
      // Refused, fenced or never sent: no order exists. Sent without an answer: none that we know of.
      const sent = s.state === 'requested' && s.last_request !== null;
      return { ...base, found: sent ? 'not_found' : 'none', order: null };
    }
    const answer = await deps.alfred.getOfframp(s.transaction_id);
    if (!answer.ok) {
      if (answer.status === 404) return { ...base, found: 'not_found', order: null };
      throw new Error(`alfred refused GET /offramp/${s.transaction_id}: ${answer.status} ${answer.error.errorCode}`);
    }
    const o = answer.data;
    return {
      ...base,
      found: 'order',
      order: {
        transactionId: o.transactionId,
        status: o.status,
        cryptoAmount: o.fromAmount,
        cryptoCurrency: o.fromCurrency ?? 'USDT',
        fiatAmount: o.toAmount ?? null,
        fiatCurrency: o.toCurrency ?? null,
        failureReason:
          o.status === 'FAILED' ? (typeof o.metadata?.failureReason === 'string' ? o.metadata.failureReason : 'UNKNOWN') : null,
      },
    };
  };
  const lookupAll = async (rows: Stored[]): Promise<PartnerLookup[]> => {
    const out: PartnerLookup[] = [];
    for (let i = 0; i < rows.length; i += parallel) out.push(...(await Promise.all(rows.slice(i, i + parallel).map(lookup))));
    return out;
  };

  return async function partnerOrders(req: Request, ctx: RpcContext): Promise<ServiceResult<Answer>> {
    const em = deps.db.em.fork();
    const ids = `{${req.withdrawalIds.join(',')}}`;
    const named = await queryRows(
      em,
      stored,
      'select withdrawal_id, state, transaction_id, last_request from offramps where withdrawal_id = any(?::uuid[])',
      [ids],
    );
    const candidates = await queryRows(
      em,
      stored,
      `select withdrawal_id, state, transaction_id, last_request from offramps
       where transaction_id is not null and not (withdrawal_id = any(?::uuid[]))
         and ((created_at >= (?::date)::timestamp at time zone 'UTC' and created_at < (?::date + 1)::timestamp at time zone 'UTC')
           or (status_at >= (?::date)::timestamp at time zone 'UTC' and status_at < (?::date + 1)::timestamp at time zone 'UTC'))
       order by created_at, withdrawal_id limit 1000`,
      [ids, req.date, req.date, req.date, req.date],
    );
    return onUserPath(ctx.log, async () => {
      const byId = new Map(named.map((s) => [s.withdrawal_id, s]));
      const unknown = (withdrawalId: string): Stored => ({
        withdrawal_id: withdrawalId,
        state: 'fenced',
        transaction_id: null,
        last_request: null,
      });
      const orders = await lookupAll(req.withdrawalIds.map((id) => byId.get(id) ?? unknown(id)));
      const others = (await lookupAll(candidates)).filter((l) => l.order?.status === 'FIAT_TRANSFER_COMPLETED');
      return ok({ orders, others });
    });
  };
}
