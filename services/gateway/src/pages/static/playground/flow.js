// @ts-check
import { call, describeError } from '../common/api.js';
import { busy, byId, el, formatTime, table } from '../common/dom.js';
import { markInvalid, readSchemaForm, renderSchemaForm } from './schema-form.js';

/**
 * Runners 3 to 5: a fiat account from the rail's generated form, the session with its quote and
 * the initiate, and the offramp outcome at Alfred.
 */

/** @typedef {import('./runner.js').Playground} Playground */

/** The payment routes of API.md, until `/supported-options` answers the trader's own. */
const defaultRoutes = [
  ['BR_PIX', 'PIX', 'BRL'],
  ['MX_SPEI', 'SPEI', 'MXN'],
  ['AR_COELSA', 'COELSA', 'ARS'],
  ['CO_ACH', 'ACH', 'COP'],
  ['DO_ACH_DOM', 'ACH_DOM', 'DOP'],
  ['US_BANK_USA', 'BANK_USA', 'USD'],
  ['CN_BANK_CN', 'BANK_CN', 'CNY'],
  ['CL_ACH_CHL', 'ACH_CHL', 'CLP'],
  ['BO_ACH_BOL', 'ACH_BOL', 'BOB'],
  ['PE_B89', 'B89', 'PEN'],
].map(([id, rail, currency]) => ({ payment_route_id: id, rail, currency, min: null, max: null }));

const select = (/** @type {string} */ id) => /** @type {HTMLSelectElement} */ (byId(id));
const input = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ (byId(id));

/**
 * @param {Playground} pg
 * @param {{ refreshBalance(): Promise<unknown>, track(withdrawalId: string): void }} live
 */
export function createFlow(pg, live) {
  /** @type {{ routes: typeof defaultRoutes, sessionId: string | null, kycName: string, requirementsAsked: number }} */
  const state = { routes: defaultRoutes, sessionId: null, kycName: '', requirementsAsked: 0 };

  function renderRoutes() {
    const routeSelect = select('route');
    const previous = routeSelect.value;
    routeSelect.replaceChildren(
      ...state.routes.map((r) =>
        el(
          'option',
          { value: r.payment_route_id },
          r.min ? `${r.payment_route_id} (${r.currency} ${r.min} to ${r.max})` : `${r.payment_route_id} (${r.currency})`,
        ),
      ),
    );
    if (state.routes.some((r) => r.payment_route_id === previous)) routeSelect.value = previous;
    const rails = [...new Set([...state.routes.map((r) => r.rail), ...defaultRoutes.map((r) => r.rail)])];
    const railSelect = select('rail');
    const rail = railSelect.value;
    railSelect.replaceChildren(...rails.map((r) => el('option', { value: r }, r)));
    railSelect.value = rails.includes(rail) ? rail : (rails[0] ?? 'PIX');
  }

  /** @param {{ payment_route_id: string, rail: string, currency: string, min: any, max: any }[]} options */
  async function setRoutes(options) {
    if (options.length === 0) return;
    state.routes = options;
    renderRoutes();
    select('route').value = options[0]?.payment_route_id ?? '';
    if (select('rail').value !== options[0]?.rail) {
      select('rail').value = options[0]?.rail ?? 'PIX';
      await loadRequirements();
    }
  }

  /** @param {string} country the KYC runner's country: its first route and rail become the defaults */
  function selectCountry(country) {
    const route = state.routes.find((r) => r.payment_route_id.startsWith(`${country}_`));
    if (!route) return;
    select('route').value = route.payment_route_id;
    select('rail').value = route.rail;
  }

  async function loadRequirements() {
    const type = select('rail').value;
    const container = byId('account-fields');
    const asked = ++state.requirementsAsked;
    const answer = await pg.run('account', `Loading the ${type} requirements`, {
      method: 'GET',
      path: `/psp/alfred/fiat-accounts/requirements?type=${encodeURIComponent(type)}`,
    });
    // Only the latest request renders: an older answer arriving late must not replace the form.
    if (asked !== state.requirementsAsked) return;
    if (!answer?.ok) {
      container.replaceChildren(el('p', { class: 'muted' }, `The ${type} requirements could not be loaded.`));
      container.removeAttribute('data-rail');
      return;
    }
    // The holder must be the KYC name, or the Travel Rule sends larger withdrawals to review.
    const holder = state.kycName ? { accountName: state.kycName, accountHolderName: state.kycName } : {};
    renderSchemaForm(container, answer.data, 'fiat', holder);
    container.setAttribute('data-rail', type);
    pg.report(
      'account',
      `The ${type} form is ready: ${Object.keys(answer.data.properties ?? {}).length} fields from the rail's requirements.`,
    );
  }

  async function refreshAccounts() {
    if (!pg.conn().token) return;
    // A read that follows the runner's own request: the runner's curl stays the one shown.
    const answer = await call(pg.conn(), { method: 'GET', path: '/psp/alfred/fiat-accounts' });
    if (!answer.ok) return pg.say.error(`Listing fiat accounts failed: ${describeError(answer)}`);
    const accounts = /** @type {any[]} */ (answer.data);
    const rows = accounts.map((a) => [el('code', {}, a.fiat_account_id), a.type, a.masked_number, a.account_holder_name]);
    byId('accounts').replaceChildren(table('Your fiat accounts', ['Id', 'Rail', 'Number', 'Holder'], rows, 'No fiat account yet.'));
    const accountSelect = select('fiat-account');
    const previous = accountSelect.value;
    accountSelect.replaceChildren(
      ...accounts.map((a) => el('option', { value: a.fiat_account_id }, `${a.type} ${a.masked_number} (${a.account_holder_name})`)),
    );
    if (accounts.some((a) => a.fiat_account_id === previous)) accountSelect.value = previous;
    pg.say.info(`${accounts.length} fiat account(s).`);
  }

  async function addAccount() {
    const type = select('rail').value;
    const container = byId('account-fields');
    const body = { type, fiatAccountFields: readSchemaForm(container) };
    const answer = await pg.run('account', `Adding a ${type} account`, { method: 'POST', path: '/psp/alfred/fiat-accounts', body });
    if (!answer) return;
    markInvalid(container, answer.ok ? [] : answer.error?.details?.fields);
    if (!answer.ok) return;
    const id = answer.data.fiatAccountId;
    await refreshAccounts();
    select('fiat-account').value = id;
    pg.report('account', `Fiat account ${id} added (${type}).`);
  }

  async function createSession() {
    const route = state.routes.find((r) => r.payment_route_id === select('route').value) ?? state.routes[0];
    const data = {
      type: 'withdrawal',
      amount: input('amount').value.trim(),
      source_currency_id: route?.currency,
      payment_route_id: route?.payment_route_id,
      wallet_id: input('wallet').value.trim(),
      fiat_account_id: select('fiat-account').value,
    };
    const answer = await pg.run('session', 'Creating a session', { method: 'POST', path: '/psp/alfred/session', body: { data } });
    if (!answer?.ok) return;
    const { session_id: sessionId, quote, expires_at: expiresAt } = answer.data;
    state.sessionId = sessionId;
    input('offramp-session').value = sessionId;
    const fees = (quote.fees ?? []).map((/** @type {any} */ f) => `${f.type} ${f.amount} ${f.currency}`).join(', ') || 'none';
    byId('session-result').replaceChildren(
      el('p', {}, 'Session ', el('code', { id: 'session-id' }, sessionId), ` expires ${formatTime(expiresAt)}.`),
      el(
        'p',
        {},
        `Quote: ${quote.fiat_amount} ${quote.fiat_currency} for ${quote.crypto_amount} USDT at rate ${quote.rate}; fees ${fees}.`,
      ),
    );
    pg.showCurl('session', { method: 'POST', path: '/psp/alfred/initiate-withdrawal', body: { session_id: sessionId } });
    pg.report('session', `Session ${sessionId} created: ${quote.crypto_amount} USDT for ${quote.fiat_amount} ${quote.fiat_currency}.`);
  }

  async function initiate() {
    if (!state.sessionId) return pg.report('session', 'Create a session first.', true);
    const answer = await pg.run('session', 'Initiating the withdrawal', {
      method: 'POST',
      path: '/psp/alfred/initiate-withdrawal',
      body: { session_id: state.sessionId },
    });
    if (!answer?.ok) return;
    const { withdrawal_id: withdrawalId, status, debited } = answer.data;
    byId('session-result').append(
      el(
        'p',
        {},
        'Withdrawal ',
        el('code', { id: 'withdrawal-id' }, withdrawalId),
        ` ${status}: ${debited.amount} ${debited.currency} held.`,
      ),
    );
    pg.report('session', `Withdrawal ${withdrawalId} is ${status}; ${debited.amount} ${debited.currency} held.`);
    live.track(withdrawalId);
    await live.refreshBalance();
  }

  async function emitOfframp() {
    const sessionId = input('offramp-session').value.trim();
    const scenario = /** @type {HTMLInputElement | null} */ (document.querySelector('input[name=scenario]:checked'))?.value ?? 'success';
    const answer = await pg.run('offramp', `Emitting offramp ${scenario}`, {
      method: 'POST',
      path: '/psp/alfred/__dev/emit-offramp',
      body: { session_id: sessionId, scenario },
      dev: true,
    });
    if (answer?.ok) pg.report('offramp', `Offramp ${scenario} emitted at Alfred; the webhook walks the withdrawal on.`);
  }

  function wire() {
    // Choosing the rail the form already shows keeps what was typed into it.
    select('rail').addEventListener('change', () => {
      if (select('rail').value !== byId('account-fields').getAttribute('data-rail')) loadRequirements();
    });
    const accountForm = /** @type {HTMLFormElement} */ (byId('account-form'));
    accountForm.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(accountForm.querySelector('button[type=submit]'), addAccount);
    });
    const sessionForm = /** @type {HTMLFormElement} */ (byId('session-form'));
    sessionForm.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(sessionForm.querySelector('button[type=submit]'), createSession);
    });
    const initiateButton = /** @type {HTMLButtonElement} */ (byId('initiate'));
    initiateButton.addEventListener('click', () => busy(initiateButton, initiate));
    const emitButton = /** @type {HTMLButtonElement} */ (byId('emit-offramp'));
    emitButton.addEventListener('click', () => busy(emitButton, emitOfframp));
    pg.showCurl('offramp', {
      method: 'POST',
      path: '/psp/alfred/__dev/emit-offramp',
      body: { session_id: '<session id>', scenario: 'success' },
      dev: true,
    });
    pg.showCurl('session', {
      method: 'POST',
      path: '/psp/alfred/session',
      body: {
        data: {
          type: 'withdrawal',
          amount: '100',
          source_currency_id: 'BRL',
          payment_route_id: 'BR_PIX',
          wallet_id: 'MAIN',
          fiat_account_id: '<fiat account id>',
        },
      },
    });
  }

  /** @param {string} name the KYC name the seed generated: the default account holder */
  async function setKycName(name) {
    state.kycName = name;
    await loadRequirements();
  }

  renderRoutes();
  wire();
  return { setRoutes, selectCountry, setKycName, loadRequirements, refreshAccounts };
}
