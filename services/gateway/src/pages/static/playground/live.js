// @ts-check
import { call } from '../common/api.js';
import { byId, el, formatTime, statusBadge, table } from '../common/dom.js';
import { openEventStream } from './event-stream.js';

/**
 * The live panel: the trader's balance, the withdrawal being tried with its audit timeline, and
 * the notifications of the SSE stream. The withdrawal is also polled while it is not terminal,
 * so the panel stays right when the stream is down; every notification refreshes both at once.
 */

/** @typedef {import('./runner.js').Playground} Playground */

const terminal = new Set(['completed', 'rejected']);

/** @param {any} t a timeline entry: a note keeps its status, a transition moves it */
const moveOf = (t) => (t.kind === 'note' ? `${t.to} (note)` : t.from ? `${t.from} → ${t.to}` : `→ ${t.to}`);
const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** @param {Playground} pg */
export function createLivePanel(pg) {
  /** @type {{ withdrawalId: string | null, status: string | null, polling: boolean, stopStream: (() => void) | null, seen: Set<string> }} */
  const state = { withdrawalId: null, status: null, polling: false, stopStream: null, seen: new Set() };

  /** @returns {Promise<any[] | null>} */
  async function refreshBalance() {
    const conn = pg.conn();
    if (!conn.token) return null;
    const answer = await call(conn, { method: 'GET', path: '/psp/alfred/balances' });
    if (!answer.ok) return null;
    const rows = /** @type {any[]} */ (answer.data).map((b) => [
      b.currency,
      el('span', { 'data-balance': `${b.currency}-available` }, b.available),
      el('span', { 'data-balance': `${b.currency}-held` }, b.held),
    ]);
    byId('balance').replaceChildren(table('Balances', ['Currency', 'Available', 'Held'], rows, 'No balance.'));
    return answer.data;
  }

  /** After a terminal status the ledger settles the hold a moment later: refresh until nothing is held. */
  async function refreshUntilSettled() {
    for (let i = 0; i < 40; i += 1) {
      const balances = await refreshBalance();
      const usdt = balances?.find((b) => b.currency === 'USDT');
      if (!usdt || /^0(\.0+)?$/.test(String(usdt.held))) return;
      await sleep(500);
    }
  }

  /** @param {any} w */
  function renderWithdrawal(w) {
    const status = statusBadge(String(w.status));
    status.id = 'withdrawal-status';
    const timeline = /** @type {any[]} */ (w.timeline ?? []).map((t) => [
      formatTime(t.at),
      moveOf(t),
      String(t.actor ?? ''),
      [t.reason, t.refused_code ? `refused: ${t.refused_code}` : null].filter(Boolean).join('; ') || '—',
    ]);
    byId('withdrawal').replaceChildren(
      el('p', {}, 'Withdrawal ', el('code', {}, w.withdrawal_id), ' is ', status, '.'),
      el(
        'p',
        {},
        `${w.crypto_amount} USDT → ${w.fiat_amount} ${w.fiat_currency} on ${w.payment_route_id}; PSP transaction ${w.psp_transaction_id ?? 'not yet'}.`,
      ),
      table('Status timeline, oldest first', ['At', 'Status', 'Actor', 'Reason'], timeline),
    );
  }

  async function refreshWithdrawal() {
    if (!state.withdrawalId) return;
    const answer = await call(pg.conn(), { method: 'GET', path: `/psp/alfred/withdrawals/${encodeURIComponent(state.withdrawalId)}` });
    if (!answer.ok) return;
    renderWithdrawal(answer.data);
    const before = state.status;
    state.status = answer.data.status;
    if (before !== state.status) {
      pg.say.info(`Withdrawal ${state.withdrawalId} is ${state.status}.`);
      if (state.status && terminal.has(state.status)) await refreshUntilSettled();
      else await refreshBalance();
    }
  }

  async function poll() {
    if (state.polling) return;
    state.polling = true;
    try {
      while (state.withdrawalId && !(state.status && terminal.has(state.status))) {
        await refreshWithdrawal();
        await sleep(1000);
      }
    } finally {
      state.polling = false;
    }
  }

  /**
   * One notification of the stream (`data` is notificationEventData in libs/contracts): listed,
   * then the withdrawal and the balance are read again, since the notification says they moved.
   * @param {{ event: string, data: string, id: string | null }} message
   */
  function onNotification(message) {
    // The notifier may publish a notification again; its id stays the same.
    if (message.id !== null) {
      if (state.seen.has(message.id)) return;
      state.seen.add(message.id);
    }
    /** @type {any} */
    let data = null;
    try {
      data = JSON.parse(message.data);
    } catch {
      data = null;
    }
    const text = data?.message ?? message.data;
    const at = data?.occurred_at ? formatTime(data.occurred_at) : formatTime(new Date().toISOString());
    const item = el('li', { 'data-event': message.event }, el('time', {}, at), ' ', el('strong', {}, message.event), ` ${text}`);
    byId('events').append(item);
    item.scrollIntoView({ block: 'nearest' });
    if (data?.withdrawal_id && !state.withdrawalId) track(data.withdrawal_id);
    refreshWithdrawal();
    refreshBalance();
  }

  function connectStream() {
    state.stopStream?.();
    const conn = pg.conn();
    const target = byId('stream-state');
    if (!conn.token) {
      target.textContent = 'Not connected: no trader token.';
      return;
    }
    state.stopStream = openEventStream(conn, '/psp/alfred/events', {
      onMessage: onNotification,
      onState: (text) => (target.textContent = text),
    });
  }

  /** @param {string} withdrawalId */
  function track(withdrawalId) {
    state.withdrawalId = withdrawalId;
    state.status = null;
    poll();
  }

  byId('refresh-balance').addEventListener('click', () => refreshBalance());
  return { refreshBalance, track, connectStream };
}
