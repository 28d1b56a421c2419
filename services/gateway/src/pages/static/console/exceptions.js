// @ts-check
import { busy, byId, definitions, el, formatTime, latestOnly, table } from '../common/dom.js';

/** @typedef {import('./withdrawals.js').ConsoleContext} ConsoleContext */

/**
 * The exception queue (`/api/admin/exceptions`): where money and Alfred (or the ledger) disagree.
 * The list of open (or resolved) exceptions, one exception's facts and actions, and one resolve
 * button per resolution the API says still fits (`resolutions`); the note is required. What each
 * resolution books is the API's business (docs/api.md), the page only says it.
 */

/** What each resolution does, in the words the buttons and the hint use. */
const resolutionText = {
  recover_from_trader: {
    label: 'Recover from trader',
    hint: 'debits the trader what they received twice, up to their available balance; the rest stays open',
  },
  refund_trader: { label: 'Refund trader', hint: 'credits the trader what they paid for a payout that never arrived' },
  write_off: { label: 'Write off', hint: 'books what is outstanding to the loss account loss:partner-divergence' },
  dismiss: { label: 'Dismiss', hint: 'closes it with the note, no money moves' },
};

/** @param {string} resolution */
const labelOf = (resolution) => /** @type {Record<string, {label: string}>} */ (resolutionText)[resolution]?.label ?? resolution;

/** @param {unknown} value */
function factText(value) {
  if (value === null || value === undefined) return '—';
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}

/**
 * An exception's status as a badge whose text says it (open is the alarming colour, unlike a freeze's "open").
 * @param {string} status
 */
export function exceptionBadge(status) {
  return el('span', { class: `badge badge-exception-${status.replace(/[^a-z_]/g, '')}` }, status);
}

/**
 * A button that opens an exception's detail.
 * @param {string} id
 */
export function exceptionButton(id) {
  return el(
    'button',
    { type: 'button', class: 'secondary', 'data-open-exception': id, 'aria-label': `Open exception ${id}` },
    'Open exception',
  );
}

/**
 * Withdrawal links are `[data-open]` buttons, which the withdrawal views open.
 * @param {ConsoleContext} ctx
 */
export function createExceptionViews(ctx) {
  const state = { status: 'open', kind: '', selected: /** @type {string | null} */ (null) };
  const listLoad = latestOnly(byId('exceptions'));

  /** @param {any} e */
  const withdrawalCell = (e) =>
    e.withdrawal_id
      ? el(
          'button',
          { type: 'button', class: 'secondary', 'data-open': e.withdrawal_id, 'aria-label': `Open withdrawal ${e.withdrawal_id}` },
          'Withdrawal',
        )
      : '—';

  async function refresh() {
    const query = new URLSearchParams({ status: state.status, limit: '50' });
    if (state.kind) query.set('kind', state.kind);
    await listLoad(async () => {
      const answer = await ctx.api({ method: 'GET', path: `/api/admin/exceptions?${query}` });
      const target = byId('exceptions');
      if (!answer.ok) {
        ctx.refused('Loading exceptions', answer);
        return () => target.replaceChildren(el('p', {}, 'The exceptions could not be loaded.'));
      }
      const { exceptions, total } = answer.data;
      const rows = /** @type {any[]} */ (exceptions).map((e) => [
        el('code', {}, e.exception_id),
        e.kind,
        exceptionBadge(e.status),
        e.exposure,
        `${e.amount} ${e.currency}`,
        `${e.outstanding_amount} ${e.currency}`,
        formatTime(e.opened_at),
        withdrawalCell(e),
        exceptionButton(e.exception_id),
      ]);
      const columns = ['Exception', 'Kind', 'Status', 'Exposure', 'Amount', 'Outstanding', 'Opened', 'Withdrawal', ''];
      return () => target.replaceChildren(table(`${total} ${state.status} exceptions`, columns, rows, `No ${state.status} exception.`));
    });
  }

  /** @param {string} id @param {boolean} [focus] */
  async function openDetail(id, focus = true) {
    const answer = await ctx.api({ method: 'GET', path: `/api/admin/exceptions/${encodeURIComponent(id)}` });
    if (!answer.ok) return ctx.refused(`Loading exception ${id}`, answer);
    showDetail(answer.data, focus);
  }

  /** @param {any} e @param {boolean} focus */
  function showDetail(e, focus) {
    state.selected = e.exception_id;
    byId('exception-detail').hidden = false;
    byId('exception-heading').textContent = `Exception ${e.exception_id}`;
    const status = exceptionBadge(e.status);
    status.id = 'exception-status';
    const summary = definitions([
      ['Status', status],
      ['Kind', e.kind],
      ['Exposure', e.exposure],
      ['Withdrawal', e.withdrawal_id ? el('span', {}, el('code', {}, e.withdrawal_id), ' ', withdrawalCell(e)) : null],
      ['Trader', e.user_id],
      ['Partner reference', e.partner_reference],
      ['Amount at stake', `${e.amount} ${e.currency}`],
      ['Outstanding', `${e.outstanding_amount} ${e.currency}`],
      ['Opened', formatTime(e.opened_at)],
      ['Resolved', e.resolved_at ? `${formatTime(e.resolved_at)} (${labelOf(e.resolution)})` : null],
    ]);
    const facts = definitions(Object.entries(e.facts ?? {}).map(([k, v]) => [k, factText(v)]));
    const actions = table(
      'Operator actions, oldest first',
      ['At', 'Resolution', 'Operator', 'Moved', 'Ledger transfer', 'Note'],
      /** @type {any[]} */ (e.actions).map((a) => [
        formatTime(a.at),
        labelOf(a.resolution),
        a.operator_id,
        `${a.moved_amount} ${e.currency}`,
        a.transfer_id ? el('code', {}, a.transfer_id) : '—',
        a.note,
      ]),
      'No action yet.',
    );
    byId('exception-body').replaceChildren(summary, el('h3', {}, 'Facts'), facts, el('h3', {}, 'Actions'), actions);
    showResolve(e);
    if (focus) byId('exception-heading').focus();
  }

  /** The resolve form offers one button per resolution that still fits; none once resolved. @param {any} e */
  function showResolve(e) {
    const form = /** @type {HTMLFormElement} */ (byId('resolve-form'));
    const resolutions = /** @type {string[]} */ (e.resolutions ?? []);
    form.hidden = resolutions.length === 0;
    const hints = resolutions.map((r) =>
      el('li', {}, el('strong', {}, labelOf(r)), `: ${/** @type {Record<string, {hint: string}>} */ (resolutionText)[r]?.hint ?? ''}`),
    );
    byId('resolve-hints').replaceChildren(...hints);
    byId('resolve-buttons').replaceChildren(
      ...resolutions.map((r) =>
        el(
          'button',
          { type: 'submit', name: 'resolution', value: r, class: r === 'dismiss' ? 'secondary' : r === 'write_off' ? 'danger' : undefined },
          labelOf(r),
        ),
      ),
    );
  }

  /** @param {string} resolution @param {string} note @param {HTMLButtonElement | null} button */
  async function resolve(resolution, note, button) {
    const id = state.selected;
    if (!id) return;
    await busy(button, async () => {
      const answer = await ctx.api({
        method: 'POST',
        path: `/api/admin/exceptions/${encodeURIComponent(id)}/resolve`,
        body: { resolution, note },
      });
      if (!answer.ok) return ctx.refused(`${labelOf(resolution)} of exception ${id}`, answer);
      /** @type {HTMLFormElement} */ (byId('resolve-form')).reset();
      showDetail(answer.data, false);
      const last = answer.data.actions.at(-1);
      const moved = last ? ` Moved ${last.moved_amount} ${answer.data.currency}.` : '';
      ctx.say.info(
        `${labelOf(resolution)} of exception ${id} done: it is ${answer.data.status}, ${answer.data.outstanding_amount} ${answer.data.currency} outstanding.${moved}`,
      );
      await refresh();
    });
  }

  function wire() {
    document.addEventListener('click', (event) => {
      const id = /** @type {HTMLElement} */ (event.target).closest('[data-open-exception]')?.getAttribute('data-open-exception');
      if (id) openDetail(id);
    });
    const filters = /** @type {HTMLFormElement} */ (byId('exception-filters'));
    filters.addEventListener('submit', (event) => {
      event.preventDefault();
      const data = new FormData(filters);
      Object.assign(state, { status: String(data.get('status') ?? 'open'), kind: String(data.get('kind') ?? '') });
      busy(filters.querySelector('button'), refresh);
    });
    const form = /** @type {HTMLFormElement} */ (byId('resolve-form'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const button = /** @type {HTMLButtonElement | null} */ (event.submitter);
      const resolution = button?.value ?? '';
      const note = String(new FormData(form).get('note') ?? '').trim();
      if (!resolution) return;
      if (!note) return ctx.say.error('Resolving an exception needs a note.');
      resolve(resolution, note, button);
    });
  }

  wire();
  return { refresh, openDetail };
}
