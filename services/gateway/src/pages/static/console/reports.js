// @ts-check
import { busy, byId, el, table } from '../common/dom.js';

/** @typedef {import('./withdrawals.js').ConsoleContext} ConsoleContext */

/** The report's groups, in the order it shows them, with what each means. */
const groups = /** @type {const} */ ([
  ['matched', 'Matched'],
  ['missing_at_partner', 'Missing at Alfred'],
  ['missing_in_ledger', 'Missing in the ledger'],
  ['amount_mismatch', 'Amount mismatch'],
  ['status_mismatch', 'Status mismatch'],
]);

/** Today as a UTC calendar day (the report's days are UTC days). */
const todayUtc = () => new Date().toISOString().slice(0, 10);

/**
 * A time in UTC, labelled so: the report's days are UTC days, whatever the browser's zone.
 * @param {string | null | undefined} iso
 */
function utc(iso) {
  if (!iso) return '—';
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : `${at.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/**
 * The daily reconciliation report (`GET /api/admin/reports/reconciliation`): shown as tables, and
 * downloaded as CSV. The download goes through fetch with the operator's token (a plain link
 * could not carry it) and is saved from a Blob under the name the gateway gives.
 * @param {ConsoleContext} ctx
 * @param {() => { token: string }} credentials
 */
export function createReportsPanel(ctx, credentials) {
  const form = /** @type {HTMLFormElement} */ (byId('report-form'));
  const date = /** @type {HTMLInputElement} */ (byId('report-date'));
  date.value = todayUtc();
  date.max = todayUtc();
  const target = byId('report');

  const path = () => `/api/admin/reports/reconciliation?date=${encodeURIComponent(date.value)}`;

  async function show() {
    if (!date.value) return ctx.say.error('Choose a day (UTC) first.');
    const answer = await ctx.api({ method: 'GET', path: path() });
    if (!answer.ok) {
      target.replaceChildren(el('p', {}, 'The report could not be loaded.'));
      return ctx.refused('Loading the reconciliation report', answer);
    }
    const report = answer.data;
    const totals = /** @type {any[]} */ (report.totals).map((t) => [
      t.group,
      t.currency,
      String(t.count),
      t.ledger_amount,
      t.partner_amount,
    ]);
    const sections = groups.map(([key, title]) => {
      const lines = /** @type {any[]} */ (report.groups[key]);
      const rows = lines.map((l) => [
        el('code', {}, l.withdrawal_id),
        l.status,
        utc(l.settled_at),
        l.ledger_amount === null ? '—' : `${l.ledger_amount} USDT (${l.ledger_movement})`,
        l.partner_status ?? '—',
        l.partner_amount === null ? '—' : `${l.partner_amount} ${l.partner_currency ?? ''}`,
        l.reason,
      ]);
      const columns = ['Withdrawal', 'Status', 'Settled at (UTC)', 'Ledger', 'Alfred status', 'Alfred amount', 'Why'];
      return el('div', { 'data-group': key }, table(`${title} (${lines.length})`, columns, rows, 'None.'));
    });
    target.replaceChildren(
      el('p', {}, `Report of ${report.date} (UTC day), generated ${utc(report.generated_at)}.`),
      table(
        'Totals per group and currency',
        ['Group', 'Currency', 'Count', 'Ledger (ours)', 'Alfred'],
        totals,
        'Nothing settled that day.',
      ),
      ...sections,
    );
    ctx.say.info(`Reconciliation report of ${report.date} loaded.`);
  }

  async function download() {
    if (!date.value) return ctx.say.error('Choose a day (UTC) first.');
    let res;
    try {
      res = await fetch(`${location.origin}${path()}`, {
        headers: { accept: 'text/csv', authorization: `Bearer ${credentials().token}` },
      });
    } catch (err) {
      return ctx.say.error(`Downloading the report failed: ${String(err)}.`);
    }
    if (!res.ok) {
      /** @type {any} */
      let body = null;
      try {
        body = await res.json();
      } catch {
        // not our envelope: said by its status below
      }
      const error = body?.error ?? { code: 'BAD_ANSWER', message: `HTTP ${res.status}` };
      return ctx.refused('Downloading the reconciliation report', {
        ok: false,
        status: res.status,
        data: null,
        error,
        traceId: body?.trace_id ?? res.headers.get('x-trace-id'),
      });
    }
    const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? `reconciliation-${date.value}.csv`;
    const url = URL.createObjectURL(await res.blob());
    const link = el('a', { href: url, download: name, hidden: '' });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    ctx.say.info(`Downloaded ${name}.`);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(form.querySelector('button[type=submit]'), show);
  });
  const button = /** @type {HTMLButtonElement} */ (byId('report-download'));
  button.addEventListener('click', () => busy(button, download));
  return { show };
}
