// @ts-check
import { busy, byId, el, formatTime, table } from '../common/dom.js';

/** @typedef {import('./withdrawals.js').ConsoleContext} ConsoleContext */

/** The countries of the payment routes (API.md), for the per-country freeze. */
const countries = ['MX', 'BR', 'AR', 'CO', 'DO', 'US', 'CN', 'CL', 'BO', 'PE'];

/**
 * The freeze answer (`{global, countries: {XX: switch}}`) as rows: global first, then the countries.
 * @param {any} data
 * @returns {[string, any][]}
 */
function freezeRows(data) {
  const countryRows = Object.entries(data.countries ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return [['All countries (global)', data.global], ...countryRows];
}

/**
 * @param {ConsoleContext} ctx
 * @param {() => Promise<void>} [onPending] after a change was sent for a second operator's approval (202)
 */
export function createFreezePanel(ctx, onPending = async () => {}) {
  const scope = /** @type {HTMLSelectElement} */ (byId('freeze-scope'));
  scope.replaceChildren(el('option', { value: '' }, 'All countries (global)'), ...countries.map((c) => el('option', { value: c }, c)));
  /** @type {any} */
  let current = null;

  /** The control shows the chosen scope's current state, and its radio starts there. */
  function showCurrent() {
    const target = byId('freeze-current');
    if (!current) return (target.textContent = 'Current state unknown (not loaded).');
    const country = scope.value;
    const entry = country ? current.countries?.[country] : current.global;
    const frozen = Boolean(entry?.frozen);
    const name = country || 'All countries (global)';
    const globalNote = country && current.global?.frozen ? ' (the global freeze is on: every country is frozen)' : '';
    target.textContent = `Currently: ${name} ${frozen ? 'frozen' : 'open'}${entry?.by ? `, set by ${entry.by} at ${formatTime(entry.at)}` : ''}${globalNote}.`;
    target.setAttribute('data-current', frozen ? 'frozen' : 'open');
    const radio = /** @type {HTMLInputElement | null} */ (document.querySelector(`#freeze-form input[name=frozen][value="${frozen}"]`));
    if (radio) radio.checked = true;
  }
  scope.addEventListener('change', showCurrent);

  async function refresh() {
    const answer = await ctx.api({ method: 'GET', path: '/api/admin/withdrawals/freeze' });
    const target = byId('freeze-state');
    if (!answer.ok) {
      target.replaceChildren(el('p', {}, 'The freeze state could not be loaded.'));
      return ctx.refused('Loading the freeze state', answer);
    }
    current = answer.data;
    showCurrent();
    const rows = freezeRows(answer.data).map(([name, entry]) => [
      name,
      el('span', { class: `badge ${entry.frozen ? 'badge-frozen' : 'badge-open'}`, 'data-freeze': name }, entry.frozen ? 'frozen' : 'open'),
      entry.reason ?? '—',
      entry.by ?? '—',
      formatTime(entry.at),
    ]);
    target.replaceChildren(table('Current freeze settings', ['Scope', 'Withdrawals', 'Reason', 'By', 'At'], rows));
  }

  const form = /** @type {HTMLFormElement} */ (byId('freeze-form'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const reason = String(data.get('reason') ?? '').trim();
    if (!reason) return ctx.say.error('Changing the freeze needs a reason.');
    const country = String(data.get('scope') ?? '');
    const frozen = data.get('frozen') === 'true';
    const body = { frozen, reason, ...(country ? { country } : {}) };
    busy(form.querySelector('button[type=submit]'), async () => {
      const answer = await ctx.api({ method: 'PUT', path: '/api/admin/withdrawals/freeze', body });
      if (!answer.ok) return ctx.refused('Changing the freeze', answer);
      if (answer.status === 202) {
        ctx.say.info(
          `Opening withdrawals ${country ? `in ${country}` : 'everywhere'} waits for a second operator (request ${answer.data.approval.approval_id}): still frozen.`,
        );
        await onPending();
        return;
      }
      ctx.say.info(`Withdrawals ${country ? `in ${country}` : 'everywhere'} are now ${frozen ? 'frozen' : 'open'}.`);
      await refresh();
    });
  });
  byId('refresh-freeze').addEventListener('click', (e) => busy(/** @type {HTMLButtonElement} */ (e.currentTarget), refresh));
  return { refresh };
}

/**
 * @param {ConsoleContext} ctx
 * @param {() => Promise<void>} afterSync refreshes the lists once statuses may have moved
 */
export function createSyncPanel(ctx, afterSync) {
  const button = /** @type {HTMLButtonElement} */ (byId('sync-button'));
  button.addEventListener('click', () =>
    busy(button, async () => {
      ctx.say.info('Syncing statuses with Alfred…');
      const answer = await ctx.api({ method: 'POST', path: '/api/admin/withdrawals/sync-statuses' });
      if (!answer.ok) return ctx.refused('Syncing statuses', answer);
      const { details, syncedCount, failedCount } = answer.data;
      const rows = /** @type {any[]} */ (details).map((d) => [
        el('code', {}, d.withdrawal_id),
        d.transaction_id,
        `${d.previous_status ?? '—'} → ${d.status ?? '—'}`,
        d.outcome,
        d.error ?? '—',
      ]);
      const summary = `Synced ${syncedCount}, failed ${failedCount}.`;
      const columns = ['Withdrawal', 'Alfred transaction', 'Alfred status', 'Outcome', 'Error'];
      byId('sync-result').replaceChildren(
        el('p', {}, summary),
        table('Withdrawals checked at Alfred', columns, rows, 'No withdrawal was processing.'),
      );
      ctx.say.info(`Sync finished. ${summary}`);
      await afterSync();
    }),
  );
}
