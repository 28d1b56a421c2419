// @ts-check
import { definitions, el, formatTime, statusBadge, table } from '../common/dom.js';
import { exceptionBadge, exceptionButton } from './exceptions.js';

/**
 * The detail of one withdrawal as `GET /api/admin/withdrawals/:id` answers it (adminWithdrawalAnswer
 * in libs/contracts): amounts, quote, masked fiat account, risk decision with its reasons, PSP
 * transaction and the full audit timeline.
 */

/** @param {any} quote */
function quoteText(quote) {
  if (!quote) return null;
  const fees = (quote.fees ?? []).map((/** @type {any} */ f) => `${f.type} ${f.amount} ${f.currency}`).join(', ') || 'none';
  return `${quote.fiat_amount} ${quote.fiat_currency} for ${quote.crypto_amount} USDT at rate ${quote.rate}; fees ${fees} (quote ${quote.quote_id})`;
}

/** @param {any} account */
function accountText(account) {
  if (!account) return null;
  return [account.type, account.masked_number, account.account_holder_name, account.bank_name].filter(Boolean).join(' · ');
}

/** @param {any} psp */
function pspText(psp) {
  if (!psp) return null;
  return `${psp.provider} ${psp.transaction_id}${psp.settlement_reference ? `, settlement ${psp.settlement_reference}` : ''}`;
}

/** @param {any} decision */
function riskSection(decision) {
  const heading = el('h3', {}, 'Risk decision');
  if (!decision) return el('div', {}, heading, el('p', { class: 'muted' }, 'No risk decision yet.'));
  const reasons = /** @type {any[]} */ (decision.reasons ?? []);
  const list = el(
    'ul',
    { id: 'risk-reasons', 'aria-label': 'Risk reasons' },
    ...reasons.map((r) => el('li', {}, el('code', {}, String(r.code)), `: ${r.detail}`)),
  );
  if (reasons.length === 0) list.append(el('li', {}, 'No reason given.'));
  const summary = el('p', {}, 'Decision: ', el('strong', {}, String(decision.decision)), ` at ${formatTime(decision.decided_at)}.`);
  return el('div', {}, heading, summary, list);
}

/** @param {any[]} timeline */
function timelineTable(timeline) {
  const rows = timeline.map((t) => [
    formatTime(t.at),
    t.kind,
    t.kind === 'note' || !t.from ? t.to : `${t.from} → ${t.to}`,
    t.actor,
    [t.reason, t.refused_code ? `refused: ${t.refused_code}` : null].filter(Boolean).join('; ') || '—',
  ]);
  return table('Audit timeline, oldest first', ['At', 'Kind', 'Status', 'Actor', 'Reason'], rows, 'No entry.');
}

/** The exceptions opened about the withdrawal, each a link to its detail. @param {any[] | undefined} exceptions */
function exceptionsSection(exceptions) {
  if (!exceptions || exceptions.length === 0) return null;
  const rows = exceptions.map((e) => [el('code', {}, e.exception_id), e.kind, exceptionBadge(e.status), exceptionButton(e.exception_id)]);
  return el('div', {}, el('h3', {}, 'Exceptions'), table('Exceptions about this withdrawal', ['Exception', 'Kind', 'Status', ''], rows));
}

/**
 * @param {any} w a withdrawal of the operator API
 * @returns {HTMLElement}
 */
export function renderDetail(w) {
  const status = statusBadge(String(w.status));
  status.id = 'detail-status';
  const facts = definitions([
    ['Status', status],
    ['Trader', w.user_id],
    ['Route', [w.payment_route_id, w.country].filter(Boolean).join(' · ')],
    ['Debited', `${w.crypto_amount} ${w.crypto_currency}`],
    ['Fiat', `${w.fiat_amount} ${w.fiat_currency}`],
    ['Quote', quoteText(w.quote)],
    ['Fiat account', accountText(w.fiat_account)],
    ['PSP transaction', pspText(w.psp_transaction)],
    ['Approved by', w.approved_by ? `${w.approved_by} at ${formatTime(w.approved_at)}` : null],
    ['Failure reason', w.failure_reason],
    // The payout failure's class and Alfred's raw reason (the trader sees the class's message).
    ['Payout failure', w.failure ? `${w.failure.class} (Alfred: ${w.failure.raw_reason ?? 'no reason given'})` : null],
    ['Settlement reference', w.settlement_reference],
    ['Stuck since', w.stuck_since ? formatTime(w.stuck_since) : null],
    ['Created', formatTime(w.created_at)],
    ['Updated', formatTime(w.updated_at)],
  ]);
  return el(
    'div',
    {},
    facts,
    exceptionsSection(w.exceptions),
    riskSection(w.risk_decision),
    el('h3', {}, 'Timeline'),
    timelineTable(w.timeline ?? []),
  );
}
