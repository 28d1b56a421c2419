import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { reconciliationReportAnswer, reconciliationReportQuery, reportsRpc, type ReconciliationReport } from '@offramp/contracts';
import { sendData } from '@offramp/kit';
import { operation } from '../edge/openapi.ts';
import { unwrap, type Services } from '../edge/services.ts';
import { buildReconciliationReport, reconciliationCsv } from './reconciliation-report.ts';
import { operatorOf } from './require-admin.ts';

const tag = 'admin';

const exampleLine = {
  group: 'matched' as const,
  withdrawal_id: '0197a3c2-5f7e-7c3a-9d41-2b6f0e8a1c55',
  trader_id: 'trader-42',
  status: 'completed' as const,
  settled_at: '2026-11-29T14:03:12.000Z',
  psp_transaction_id: 'b1d2c3e4-0000-4000-8000-000000000001',
  ledger_movement: 'posted' as const,
  ledger_amount: '50.000000',
  ledger_currency: 'USDT' as const,
  fiat_amount: '875.50',
  fiat_currency: 'MXN',
  partner_status: 'FIAT_TRANSFER_COMPLETED' as const,
  partner_amount: '50',
  partner_currency: 'USDT',
  partner_fiat_amount: '875.50',
  partner_fiat_currency: 'MXN',
  reason: 'posted; Alfred reports FIAT_TRANSFER_COMPLETED',
};
const example: ReconciliationReport = {
  date: '2026-11-29',
  timezone: 'UTC',
  generated_at: '2026-11-30T06:00:00.000Z',
  groups: { matched: [exampleLine], missing_at_partner: [], missing_in_ledger: [], amount_mismatch: [], status_mismatch: [] },
  totals: [
    { group: 'matched', currency: 'USDT', count: 1, ledger_amount: '50.000000', partner_amount: '50.000000' },
    { group: 'matched', currency: 'MXN', count: 1, ledger_amount: '875.50', partner_amount: '875.50' },
  ],
};

/** Whether the caller asked for CSV: `?format=csv`, or an Accept that names text/csv before JSON. */
function wantsCsv(request: FastifyRequest, format: 'json' | 'csv' | undefined): boolean {
  if (format) return format === 'csv';
  const accept = request.headers.accept ?? '';
  return /\btext\/csv\b/i.test(accept) && !/\bapplication\/json\b/i.test(accept);
}

/**
 * The daily reconciliation report: the withdrawals settled on a UTC day, the ledger's amounts
 * (sessions reads them from the ledger) against Alfred's orders (psp-alfred reads them at Alfred
 * now), grouped; JSON, or CSV to download.
 */
export function adminReportRoutes(deps: { services: Services; now?: () => Date }) {
  const { services } = deps;
  const now = deps.now ?? (() => new Date());
  return async (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/reports/reconciliation',
      {
        schema: operation({
          operationId: 'adminReconciliationReport',
          summary: "The daily reconciliation report: a UTC day's settled withdrawals, the ledger against Alfred",
          description: [
            '`date` is a UTC day. A withdrawal is *settled* on the day it reached `completed` (its hold posted) or `rejected` (voided).',
            "Each is compared with its order as Alfred reports it now: the ledger's posted (or voided) USDT against the order's amount, the quoted fiat amount against Alfred's, and the status.",
            'Groups: `matched`; `missing_at_partner` (completed, but Alfred has no such order); `missing_in_ledger` (settled without the post or void in the ledger, or an order',
            'psp-alfred made or saw move that day that Alfred reports paid out while the ledger holds no post for its withdrawal: Alfred lists orders only per customer, so these come',
            "from psp-alfred's own orders); `amount_mismatch`; `status_mismatch` (completed while Alfred's order is not `FIAT_TRANSFER_COMPLETED`, or rejected while it is not `FAILED`).",
            "Totals per group and currency: for USDT the ledger against Alfred; for each fiat currency the quoted amounts against Alfred's.",
            'CSV (RFC 4180, a download) with `?format=csv` or `Accept: text/csv`: one row per line, a blank row, then the totals.',
            '503 PSP_UNAVAILABLE when Alfred cannot be asked.',
          ].join(' '),
          tag,
          access: 'admin',
          querystring: reconciliationReportQuery,
          answer: reconciliationReportAnswer,
          examples: { answer: example },
          csv: {
            description: 'The same report as CSV (attachment `reconciliation-<date>.csv`)',
            example: `${reconciliationCsv(example)}`,
          },
        }),
      },
      async (request, reply) => {
        const { date, format } = request.query;
        request.log.info({ operatorId: operatorOf(request).id, date }, 'operator asked for the reconciliation report');
        const settled = unwrap(await services.call(request, reportsRpc.ledgerWithdrawals, { date, withdrawalIds: [] })).withdrawals;
        const partner = unwrap(
          await services.call(request, reportsRpc.partnerOrders, { date, withdrawalIds: settled.map((w) => w.withdrawalId) }),
        );
        const others =
          partner.others.length === 0
            ? []
            : unwrap(
                await services.call(request, reportsRpc.ledgerWithdrawals, { withdrawalIds: partner.others.map((o) => o.withdrawalId) }),
              ).withdrawals;
        const report = buildReconciliationReport({
          date,
          settled,
          orders: partner.orders,
          others: partner.others.map((lookup) => ({ lookup, withdrawal: others.find((w) => w.withdrawalId === lookup.withdrawalId) })),
          now: now(),
        });
        if (!wantsCsv(request, format)) return sendData(request, reply, report);
        return reply
          .code(200)
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="reconciliation-${date}.csv"`)
          .send(reconciliationCsv(report));
      },
    );
  };
}
