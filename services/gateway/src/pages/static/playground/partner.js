// @ts-check
import { call, describeError } from '../common/api.js';
import { busy, byId, el } from '../common/dom.js';

/**
 * The partner API runner (API.md "Partner API"): an operator (a dev admin token minted with the
 * dev secret) creates a partner and links the playground's trader to it; the page then signs a
 * withdrawal request as the partner's server would, HMAC-SHA256 of the exact body with the
 * partner's api_secret computed here with WebCrypto, and reads its state with a signed GET. The
 * secret stays in this page's memory (and its form field); nothing is stored.
 */

/** @typedef {import('./runner.js').Playground} Playground */

const input = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ (byId(id));
const select = (/** @type {string} */ id) => /** @type {HTMLSelectElement} */ (byId(id));

/**
 * Lowercase hex of HMAC-SHA256(secret, data): what `x-payload-hash` carries.
 * @param {string} secret @param {string} data
 */
export async function hmacHex(secret, data) {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(data)));
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** @param {string} text */
const shellQuote = (text) => `'${text.replaceAll("'", "'\\''")}'`;

/** The fiat currency of the chosen payment route, as its option shows it (`BR_PIX (BRL 10.00 to 50000.00)`). */
function currencyOfRoute() {
  const text = select('route').selectedOptions[0]?.textContent ?? '';
  return /\(([A-Z]{3})\b/.exec(text)?.[1] ?? 'BRL';
}

/**
 * @param {Playground} pg
 * @param {{ track(withdrawalId: string): void, refreshBalance(): Promise<unknown> }} live the Live panel: it follows the partner's withdrawal
 */
export function createPartnerRunner(pg, live) {
  /** @type {{ lastRequestId: string | null }} */
  const state = { lastRequestId: null };
  const base = () => pg.conn().baseUrl.replace(/\/+$/, '');

  /** An operator's token for the partner routes: a dev token with role admin (only the dev secret is needed). */
  async function adminToken() {
    const minted = await call(pg.conn(), {
      method: 'POST',
      path: '/psp/alfred/__dev/token',
      body: { sub: 'playground-operator', role: 'admin' },
      dev: true,
      auth: false,
    });
    if (!minted.ok) {
      pg.report('partner', `Minting an operator token failed: ${describeError(minted)}. The dev secret is needed (Connection).`, true);
      return null;
    }
    return /** @type {string} */ (minted.data.token);
  }

  async function createPartner() {
    const token = await adminToken();
    if (!token) return;
    const name = input('partner-name').value.trim() || 'Playground partner';
    const answer = await call({ baseUrl: pg.conn().baseUrl, token }, { method: 'POST', path: '/api/admin/partners', body: { name } });
    if (!answer.ok) return pg.report('partner', `Creating the partner failed: ${describeError(answer)}`, true);
    input('partner-id').value = answer.data.partner_id;
    input('partner-key').value = answer.data.api_key_id;
    input('partner-secret').value = answer.data.api_secret;
    pg.report(
      'partner',
      `Partner ${answer.data.partner_id} created with key ${answer.data.api_key_id}; its secret is shown this once (kept in the form).`,
    );
  }

  async function linkTrader() {
    const partnerId = input('partner-id').value.trim();
    const traderId = pg.settings.load().traderId;
    if (!partnerId || !traderId) return pg.report('partner', 'Create a partner and choose a trader (Connection) first.', true);
    const token = await adminToken();
    if (!token) return;
    const userName = input('partner-user-name').value.trim() || traderId;
    const answer = await call(
      { baseUrl: pg.conn().baseUrl, token },
      {
        method: 'POST',
        path: `/api/admin/partners/${encodeURIComponent(partnerId)}/traders`,
        body: { trader_id: traderId, user_name: userName },
      },
    );
    if (!answer.ok) return pg.report('partner', `Linking the trader failed: ${describeError(answer)}`, true);
    pg.report('partner', `Trader ${traderId} linked to the partner as ${userName}.`);
  }

  /**
   * One signed request: the hash of exactly the bytes sent (the body, or the path of a GET).
   * @param {'POST' | 'GET'} method @param {string} path @param {string | undefined} raw
   */
  async function signed(method, path, raw) {
    const key = input('partner-key').value.trim();
    const secret = input('partner-secret').value.trim();
    const hash = await hmacHex(secret, raw ?? path);
    const curl = [
      `HASH=$(printf %s ${shellQuote(raw ?? path)} | openssl dgst -sha256 -hmac "$API_SECRET" | sed 's/^.* //')`,
      `curl -sS -X ${method} ${shellQuote(base() + path)} -H ${shellQuote(`x-api-key: ${key}`)} -H "x-payload-hash: $HASH"` +
        (raw === undefined ? '' : ` -H 'content-type: application/json' --data-binary ${shellQuote(raw)}`),
    ].join('\n');
    const pre = document.querySelector('pre[data-curl="partner"]');
    if (pre) pre.textContent = curl;
    /** @type {Record<string, string>} */
    const headers = { accept: 'application/json', 'x-api-key': key, 'x-payload-hash': hash };
    if (raw !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await fetch(base() + path, { method, headers, body: raw });
      return { status: res.status, body: await res.json() };
    } catch (err) {
      return { status: 0, body: { success: false, error: { code: 'NETWORK_ERROR', message: String(err) } } };
    }
  }

  /** @param {number} status @param {any} body */
  function show(status, body) {
    byId('partner-result').replaceChildren(el('pre', {}, `HTTP ${status}\n${JSON.stringify(body, null, 2)}`));
  }

  async function sendRequest() {
    const traderId = pg.settings.load().traderId;
    const route = select('route').value;
    const request = {
      withdrawRequestId: `pg-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`,
      withdrawRequestDate: Date.now(),
      userId: traderId,
      userName: input('partner-user-name').value.trim() || traderId,
      fiatCurrency: currencyOfRoute(),
      fiatAmount: input('amount').value.trim(),
      currency: 'USDT',
      fiatAccountId: select('fiat-account').value,
      ...(route ? { paymentRouteId: route } : {}),
    };
    const { status, body } = await signed('POST', '/partner/v1/withdrawal-requests', JSON.stringify(request));
    show(status, body);
    if (!body?.success)
      return pg.report('partner', `The signed request was refused: ${body?.error?.code ?? status} ${body?.error?.message ?? ''}`, true);
    state.lastRequestId = body.data.withdrawRequestId;
    live.track(body.data.operationNo);
    await live.refreshBalance();
    pg.report(
      'partner',
      `Request ${body.data.withdrawRequestId} answered ${status}: withdrawal ${body.data.operationNo} ${body.data.withdrawalState}.`,
    );
  }

  async function queryRequest() {
    if (!state.lastRequestId) return pg.report('partner', 'Send a signed request first.', true);
    const { status, body } = await signed('GET', `/partner/v1/withdrawal-requests/${encodeURIComponent(state.lastRequestId)}`, undefined);
    show(status, body);
    if (!body?.success) return pg.report('partner', `The query was refused: ${body?.error?.code ?? status}`, true);
    pg.report('partner', `Request ${state.lastRequestId}: ${body.data.withdrawalState} (ours: ${body.data.status}).`);
  }

  /** @param {string} id @param {() => Promise<unknown>} action */
  const onClick = (id, action) => {
    const button = /** @type {HTMLButtonElement} */ (byId(id));
    button.addEventListener('click', () => busy(button, async () => void (await action())));
  };
  onClick('partner-create', createPartner);
  onClick('partner-link', linkTrader);
  onClick('partner-send', sendRequest);
  onClick('partner-query', queryRequest);
}
