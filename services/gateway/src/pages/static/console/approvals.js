// @ts-check
import { busy, byId, el, formatTime, latestOnly, table } from '../common/dom.js';

/** @typedef {import('./withdrawals.js').ConsoleContext} ConsoleContext */

/** What a request will do, in words. @param {any} a */
function describe(a) {
  const r = a.request ?? {};
  switch (a.action) {
    case 'withdrawal_approve':
      return `Approve withdrawal${r.reason ? `: ${r.reason}` : ''}`;
    case 'withdrawal_reject':
      return `Reject withdrawal: ${r.reason}`;
    case 'withdrawal_complete':
      return `Complete out of band, reference ${r.reference}${r.notes ? `: ${r.notes}` : ''}`;
    case 'withdrawal_override':
      return `Override status to ${r.status}: ${r.reason}`;
    case 'freeze_set':
      return `${r.frozen ? 'Freeze' : 'Lift the freeze of'} ${r.country ?? 'all countries'}: ${r.reason}`;
    case 'thresholds_set':
      return `Change risk thresholds: ${JSON.stringify(r.change)}`;
    case 'screening_add':
      return `Screen ${r.kind} ${r.value} as ${r.verdict}${r.note ? `: ${r.note}` : ''}`;
    case 'screening_remove':
      return `Remove ${r.kind} ${r.value} from screening`;
    default:
      return String(a.action);
  }
}

/**
 * The four-eyes queue: requests another operator made, each confirmed (the action runs once) or
 * declined here. The buttons of one's own requests are disabled: a second operator must decide.
 * @param {ConsoleContext} ctx
 * @param {() => string | null} me the operator of the saved token (its `sub`)
 * @param {() => Promise<void>} afterDecision refreshes what a confirmed action may have changed
 */
export function createApprovalsPanel(ctx, me, afterDecision) {
  const load = latestOnly(byId('approvals'));
  const filter = /** @type {HTMLSelectElement} */ (byId('approval-status-filter'));

  /** @param {any} a @param {'confirm' | 'decline'} verb */
  function decisionButton(a, verb) {
    const own = a.requested_by === me();
    const pending = a.status === 'pending';
    const label = `${verb === 'confirm' ? 'Confirm' : 'Decline'} request ${a.approval_id}`;
    const button = el(
      'button',
      {
        type: 'button',
        class: verb === 'confirm' ? '' : 'secondary',
        'data-approval': a.approval_id,
        'data-verb': verb,
        'aria-label': label,
        ...(own && pending ? { title: 'You made this request: another operator must decide it' } : {}),
      },
      verb === 'confirm' ? 'Confirm' : 'Decline',
    );
    /** @type {HTMLButtonElement} */ (button).disabled = own || !pending;
    return button;
  }

  async function refresh() {
    const status = filter.value;
    await load(async () => {
      const answer = await ctx.api({ method: 'GET', path: `/api/admin/approvals?limit=100${status ? `&status=${status}` : ''}` });
      const target = byId('approvals');
      if (!answer.ok) {
        ctx.refused('Loading the approvals', answer);
        return () => target.replaceChildren(el('p', {}, 'The approvals could not be loaded.'));
      }
      const rows = /** @type {any[]} */ (answer.data.approvals).map((a) => [
        el('code', {}, a.approval_id),
        el('span', { 'data-approval-status': a.approval_id }, a.status),
        describe(a),
        a.withdrawal_id ? el('code', {}, a.withdrawal_id) : a.target,
        `operator:${a.requested_by}${a.requested_by === me() ? ' (you)' : ''}`,
        formatTime(a.requested_at),
        a.status === 'pending' ? formatTime(a.expires_at) : a.decided_by ? `operator:${a.decided_by} at ${formatTime(a.decided_at)}` : '—',
        a.result ? (a.result.outcome === 'done' ? 'done' : `refused: ${a.result.code}`) : '—',
        el('span', {}, decisionButton(a, 'confirm'), ' ', decisionButton(a, 'decline')),
      ]);
      const columns = ['Request', 'Status', 'What', 'Target', 'Requested by', 'Requested at', 'Expires / decided', 'Result', ''];
      const caption = `${answer.data.total} ${status || 'any status'} request(s)`;
      return () => target.replaceChildren(table(caption, columns, rows, 'No request waits for a second operator.'));
    });
  }

  /** @param {string} id @param {'confirm' | 'decline'} verb @param {HTMLButtonElement} button */
  async function decide(id, verb, button) {
    await busy(button, async () => {
      const answer = await ctx.api({ method: 'POST', path: `/api/admin/approvals/${encodeURIComponent(id)}/${verb}` });
      if (!answer.ok) return ctx.refused(`${verb === 'confirm' ? 'Confirming' : 'Declining'} request ${id}`, answer);
      const a = answer.data;
      const outcome = a.status === 'failed' ? `confirmed, but the action was refused (${a.result?.code}): nothing moved` : `${a.status}`;
      ctx.say.info(`Request ${id} ${outcome}.`);
      await refresh();
      await afterDecision();
    });
  }

  byId('approvals').addEventListener('click', (event) => {
    const button = /** @type {HTMLElement} */ (event.target).closest('button[data-approval]');
    if (!button) return;
    const verb = button.getAttribute('data-verb') === 'decline' ? 'decline' : 'confirm';
    decide(String(button.getAttribute('data-approval')), verb, /** @type {HTMLButtonElement} */ (button));
  });
  filter.addEventListener('change', () => refresh());
  byId('refresh-approvals').addEventListener('click', (e) => busy(/** @type {HTMLButtonElement} */ (e.currentTarget), refresh));
  return { refresh };
}
