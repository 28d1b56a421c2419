// @ts-check
import { busy, byId, el, formatTime, latestOnly, statusBadge, table } from '../common/dom.js';
import { renderDetail } from './detail.js';

/**
 * @typedef {import('../common/api.js').Answer} Answer
 * @typedef {{
 *   api: (req: import('../common/api.js').Request) => Promise<Answer>,
 *   say: { info(text: string): void, error(text: string): void },
 *   refused(what: string, answer: Answer): void,
 * }} ConsoleContext
 */

/** @param {any} w */
const amountOf = (w) => `${w.crypto_amount} USDT → ${w.fiat_amount} ${w.fiat_currency}`;

/**
 * The review queue, the filtered and paged list, and the detail view with its actions.
 * @param {ConsoleContext} ctx
 * @param {() => Promise<void>} [onPending] after an action was sent for a second operator's approval (202)
 */
export function createWithdrawalViews(ctx, onPending = async () => {}) {
  const state = { page: 1, limit: 20, status: '', userId: '', total: 0, selected: /** @type {string | null} */ (null) };

  /** @param {any} w */
  const openButton = (w) =>
    el(
      'button',
      { type: 'button', class: 'secondary', 'data-open': w.withdrawal_id, 'aria-label': `Open withdrawal ${w.withdrawal_id}` },
      'Open',
    );

  /** @param {any[]} rows @param {string} caption @param {string} empty */
  function withdrawalTable(rows, caption, empty) {
    const columns = ['Withdrawal', 'Status', 'Trader', 'Amount', 'Route', 'Created', ''];
    const cells = rows.map((w) => [
      el('code', {}, w.withdrawal_id),
      statusBadge(w.status),
      w.user_id,
      amountOf(w),
      w.payment_route_id,
      formatTime(w.created_at),
      openButton(w),
    ]);
    return table(caption, columns, cells, empty);
  }

  const queueLoad = latestOnly(byId('queue'));
  const listLoad = latestOnly(byId('list'));

  async function refreshQueue() {
    await queueLoad(async () => {
      const answer = await ctx.api({ method: 'GET', path: '/api/admin/withdrawals/pending' });
      const target = byId('queue');
      if (!answer.ok) {
        ctx.refused('Loading the review queue', answer);
        return () => target.replaceChildren(el('p', {}, 'The queue could not be loaded.'));
      }
      const { withdrawals: rows, total } = answer.data;
      return () => target.replaceChildren(withdrawalTable(rows, `${total} waiting for review`, 'Nothing waits for review.'));
    });
  }

  async function refreshList() {
    const query = new URLSearchParams({ page: String(state.page), limit: String(state.limit) });
    if (state.status) query.set('status', state.status);
    if (state.userId) query.set('user_id', state.userId);
    await listLoad(async () => {
      const answer = await ctx.api({ method: 'GET', path: `/api/admin/withdrawals?${query}` });
      const target = byId('list');
      if (!answer.ok) {
        ctx.refused('Loading withdrawals', answer);
        return () => target.replaceChildren(el('p', {}, 'The list could not be loaded.'));
      }
      return () => showList(answer.data.withdrawals, answer.data.total);
    });
  }

  /** @param {any[]} rows @param {number} total */
  function showList(rows, total) {
    state.total = total;
    const pages = Math.max(1, Math.ceil(total / state.limit));
    byId('list').replaceChildren(withdrawalTable(rows, `${total} withdrawals`, 'No withdrawal matches.'));
    byId('page-info').textContent = `Page ${state.page} of ${pages}, ${total} withdrawals`;
    /** @type {HTMLButtonElement} */ (byId('prev-page')).disabled = state.page <= 1;
    /** @type {HTMLButtonElement} */ (byId('next-page')).disabled = state.page >= pages;
  }

  /** @param {string} id @param {boolean} [focus] */
  async function openDetail(id, focus = true) {
    const answer = await ctx.api({ method: 'GET', path: `/api/admin/withdrawals/${encodeURIComponent(id)}` });
    if (!answer.ok) return ctx.refused(`Loading withdrawal ${id}`, answer);
    showDetail(answer.data, focus);
  }

  /** @param {any} w @param {boolean} focus */
  function showDetail(w, focus) {
    state.selected = w.withdrawal_id;
    const section = byId('detail');
    section.hidden = false;
    byId('detail-heading').textContent = `Withdrawal ${w.withdrawal_id}`;
    byId('detail-body').replaceChildren(renderDetail(w));
    enableActions(w.allowed_actions ?? []);
    if (focus) byId('detail-heading').focus();
  }

  /**
   * Only the actions legal in the withdrawal's status (the answer's `allowed_actions`) are enabled.
   * @param {string[]} allowed
   */
  function enableActions(allowed) {
    /** @type {[string, string][]} */
    const controls = [
      ['approve-form', 'approve'],
      ['reject-form', 'reject'],
      ['complete-form', 'complete'],
    ];
    for (const [form, action] of controls)
      for (const control of /** @type {HTMLFormElement} */ (byId(form)).querySelectorAll('input, button[type=submit]'))
        /** @type {HTMLInputElement | HTMLButtonElement} */ (control).disabled = !allowed.includes(action);
    /** @type {HTMLButtonElement} */ (byId('process-button')).disabled = !allowed.includes('process');
    byId('actions-hint').textContent =
      allowed.length === 0
        ? 'No operator action is legal in this status.'
        : `Legal in this status: ${allowed.filter((a) => a !== 'override').join(', ')}. Actions that move money may wait for a second operator.`;
  }

  /**
   * One operator action on the selected withdrawal; on success the detail shows the answer (or is
   * loaded again) and the queue and list refresh.
   * Under four-eyes the gateway may answer 202 with a pending request instead: nothing changed yet.
   * @param {string} label @param {string} action @param {Record<string, unknown> | undefined} body @param {HTMLButtonElement | null} button
   */
  async function act(label, action, body, button) {
    const id = state.selected;
    if (!id) return;
    await busy(button, async () => {
      const answer = await ctx.api({ method: 'POST', path: `/api/admin/withdrawals/${encodeURIComponent(id)}/${action}`, body });
      if (!answer.ok) return ctx.refused(`${label} of withdrawal ${id}`, answer);
      if (answer.status === 202) {
        ctx.say.info(
          `${label} of withdrawal ${id} waits for a second operator (request ${answer.data.approval.approval_id}): nothing changed yet.`,
        );
        await onPending();
        return;
      }
      showDetail(answer.data, false);
      for (const form of ['approve-form', 'reject-form', 'complete-form']) /** @type {HTMLFormElement} */ (byId(form)).reset();
      ctx.say.info(`${label} of withdrawal ${id} done: it is now ${answer.data.status}.`);
      await refresh();
    });
  }

  function wire() {
    document.addEventListener('click', (event) => {
      const target = /** @type {HTMLElement} */ (event.target);
      const id = target.closest('[data-open]')?.getAttribute('data-open');
      if (id) openDetail(id);
    });
    byId('refresh-queue').addEventListener('click', (e) => busy(/** @type {HTMLButtonElement} */ (e.currentTarget), refreshQueue));
    const filters = /** @type {HTMLFormElement} */ (byId('filters'));
    filters.addEventListener('submit', (event) => {
      event.preventDefault();
      const data = new FormData(filters);
      Object.assign(state, {
        page: 1,
        status: String(data.get('status') ?? ''),
        userId: String(data.get('user_id') ?? '').trim(),
        limit: Number(data.get('limit') ?? 20),
      });
      busy(filters.querySelector('button'), refreshList);
    });
    byId('prev-page').addEventListener('click', () => ((state.page = Math.max(1, state.page - 1)), refreshList()));
    byId('next-page').addEventListener('click', () => ((state.page += 1), refreshList()));
    wireActions();
  }

  function wireActions() {
    const formOf = (/** @type {string} */ id) => /** @type {HTMLFormElement} */ (byId(id));
    formOf('approve-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const note = String(new FormData(formOf('approve-form')).get('reason') ?? '').trim();
      act('Approval', 'approve', note ? { reason: note } : undefined, formOf('approve-form').querySelector('button'));
    });
    formOf('reject-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const reason = String(new FormData(formOf('reject-form')).get('reason') ?? '').trim();
      if (!reason) return ctx.say.error('A rejection needs a reason.');
      act('Rejection', 'reject', { reason }, formOf('reject-form').querySelector('button'));
    });
    formOf('complete-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const data = new FormData(formOf('complete-form'));
      const reference = String(data.get('reference') ?? '').trim();
      if (!reference) return ctx.say.error('Completing needs the partner reference.');
      const vouched = data.get('confirmed_out_of_band') === 'true';
      act(
        'Completion',
        'complete',
        { reference, ...(vouched ? { confirmed_out_of_band: true } : {}) },
        formOf('complete-form').querySelector('button[type=submit]'),
      );
    });
    byId('process-button').addEventListener('click', (e) =>
      act('Re-dispatch', 'process', undefined, /** @type {HTMLButtonElement} */ (e.currentTarget)),
    );
  }

  async function refresh() {
    await Promise.all([refreshQueue(), refreshList()]);
  }

  wire();
  return { refresh, openDetail };
}
