// @ts-check
import { call, claimsOf, describeError } from '../common/api.js';
import { announcer, busy, byId, formatTime } from '../common/dom.js';
import { createFlow } from './flow.js';
import { createLivePanel } from './live.js';
import { createPartnerRunner } from './partner.js';
import { createPlayground } from './runner.js';

/**
 * The Dev playground (API.md, QA): configure the base URL, the trader's token and the dev secret
 * once, then run the withdrawal flow step by step with the `/psp/alfred/__dev/*` actions, watching
 * the balance, the withdrawal's timeline and the trader's notifications live.
 */

const pg = createPlayground(announcer(byId('status'), byId('alert')));
const live = createLivePanel(pg);
const flow = createFlow(pg, live);
const input = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ (byId(id));
const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

function showIdentity() {
  const { token } = pg.settings.load();
  const claims = claimsOf(token);
  byId('whoami').textContent = !token
    ? 'No trader token yet: mint a dev token or paste one.'
    : claims
      ? `Acting as trader ${claims.sub}; token expires ${formatTime(new Date(Number(claims.exp) * 1000).toISOString())}.`
      : 'The saved token is not a JWT.';
}

function saveSettings() {
  pg.settings.save({
    baseUrl: input('base-url').value.trim() || location.origin,
    devSecret: input('dev-secret').value,
    traderId: input('trader-id').value.trim(),
    token: input('token').value.trim(),
  });
  showIdentity();
}

/** Everything that depends on who the trader is. */
async function onTraderChanged() {
  live.connectStream();
  await Promise.all([live.refreshBalance(), flow.loadRequirements(), flow.refreshAccounts()]);
}

async function mintToken() {
  if (!input('trader-id').value.trim()) input('trader-id').value = newTraderId();
  saveSettings();
  const sub = pg.settings.load().traderId;
  const answer = await pg.run('mint-token', 'Minting a dev token', {
    method: 'POST',
    path: '/psp/alfred/__dev/token',
    body: { sub },
    dev: true,
    auth: false,
  });
  if (!answer?.ok) return;
  input('token').value = answer.data.token;
  saveSettings();
  pg.report('mint-token', `Dev token minted for trader ${sub}.`);
  await onTraderChanged();
}

const newTraderId = () => `qa-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/**
 * Asks for eligibility up to `attempts` times, half a second apart; only the last refusal is an
 * alert, since a KYC approval reaches us through Alfred's webhook a moment later.
 * @param {number} attempts
 * @param {boolean} ownCurl whether the runner's curl becomes this check (not after approve-kyc)
 * @returns {Promise<boolean>} whether the trader is eligible
 */
async function checkEligibility(attempts, ownCurl) {
  const target = byId('eligibility');
  const req = { method: 'GET', path: '/psp/alfred/eligibility' };
  if (ownCurl) pg.showCurl('kyc', req);
  for (let i = 0; i < attempts; i += 1) {
    const answer = await call(pg.conn(), req);
    if (answer.ok && answer.data.eligible) {
      target.textContent = `Eligible in ${answer.data.country}: rails ${(answer.data.rails ?? []).join(', ')}.`;
      pg.report('kyc', `The trader is eligible in ${answer.data.country}.`);
      await loadSupportedOptions();
      return true;
    }
    const why = answer.ok ? `${answer.data.reason} (needs ${JSON.stringify(answer.data.fallback ?? {})})` : describeError(answer);
    target.textContent = `Not eligible: ${why}.`;
    if (i + 1 < attempts) await sleep(500);
    else pg.report('kyc', `The trader is not eligible: ${why}.`, true);
  }
  return false;
}

async function loadSupportedOptions() {
  const answer = await call(pg.conn(), { method: 'GET', path: '/psp/alfred/supported-options' });
  if (answer.ok) await flow.setRoutes(answer.data);
  else pg.say.error(`Loading the supported options failed: ${describeError(answer)}`);
}

async function seedKyc() {
  const country = /** @type {HTMLSelectElement} */ (byId('country')).value;
  const answer = await pg.run('seed-kyc', `Seeding KYC (${country}) and provisioning`, {
    method: 'POST',
    path: `/psp/alfred/__dev/seed-kyc-and-provision?country=${country}`,
    dev: true,
  });
  if (!answer?.ok) return;
  const kycName = String(answer.data?.kyc?.kycName ?? '');
  flow.selectCountry(country);
  await flow.setKycName(kycName);
  byId('eligibility').textContent = `KYC seeded for ${country}${kycName ? ` as ${kycName}` : ''}; Alfred's KYC is pending until approved.`;
  pg.report('seed-kyc', `KYC seeded for ${country} and the Alfred customer provisioned.`);
}

async function approveKyc() {
  const answer = await pg.run('kyc', 'Approving KYC', { method: 'POST', path: '/psp/alfred/__dev/approve-kyc', dev: true });
  if (!answer?.ok) return;
  pg.say.info('KYC approved at Alfred; waiting for the webhook to make the trader eligible…');
  await checkEligibility(30, false);
}

async function emitKycStatus() {
  const status = /** @type {HTMLSelectElement} */ (byId('kyc-status')).value;
  const answer = await pg.run('kyc', `Emitting KYC status ${status}`, {
    method: 'POST',
    path: '/psp/alfred/__dev/emit-kyc-status',
    body: { status },
    dev: true,
  });
  if (answer?.ok) pg.report('kyc', `KYC status ${status} sent through the webhook path.`);
}

async function fund() {
  const amount = input('fund-amount').value.trim();
  const answer = await pg.run('fund', `Funding ${amount} USDT`, {
    method: 'POST',
    path: '/psp/alfred/__dev/fund',
    body: { amount, currency: 'USDT' },
    dev: true,
  });
  if (!answer?.ok) return;
  pg.report('fund', `Funded ${answer.data.amount} USDT: ${answer.data.available} available.`);
  await live.refreshBalance();
}

/** @param {string} id @param {() => Promise<unknown>} action */
function onClick(id, action) {
  const button = /** @type {HTMLButtonElement} */ (byId(id));
  button.addEventListener('click', () => busy(button, async () => void (await action())));
}

function wire() {
  const stored = pg.settings.load();
  input('base-url').value = stored.baseUrl || location.origin;
  input('dev-secret').value = stored.devSecret;
  input('trader-id').value = stored.traderId;
  input('token').value = stored.token;
  byId('settings-form').addEventListener('submit', (event) => {
    event.preventDefault();
    saveSettings();
    pg.say.info('Settings saved.');
    onTraderChanged();
  });
  byId('new-trader').addEventListener('click', () => {
    input('trader-id').value = newTraderId();
    input('token').value = '';
    saveSettings();
    live.connectStream();
    pg.say.info('New trader id; mint a dev token for it.');
  });
  onClick('mint-token', mintToken);
  onClick('seed-kyc', seedKyc);
  onClick('approve-kyc', approveKyc);
  onClick('emit-kyc-status', emitKycStatus);
  onClick('check-eligibility', () => checkEligibility(1, true));
  onClick('fund', fund);
  byId('country').addEventListener('change', () => {
    flow.selectCountry(/** @type {HTMLSelectElement} */ (byId('country')).value);
    if (pg.conn().token) flow.loadRequirements();
  });
  pg.showCurl('mint-token', {
    method: 'POST',
    path: '/psp/alfred/__dev/token',
    body: { sub: stored.traderId || '<trader id>' },
    dev: true,
    auth: false,
  });
  pg.showCurl('seed-kyc', { method: 'POST', path: '/psp/alfred/__dev/seed-kyc-and-provision?country=BR', dev: true });
  pg.showCurl('kyc', { method: 'POST', path: '/psp/alfred/__dev/approve-kyc', dev: true });
  pg.showCurl('fund', { method: 'POST', path: '/psp/alfred/__dev/fund', body: { amount: '1000', currency: 'USDT' }, dev: true });
}

wire();
createPartnerRunner(pg, live);
showIdentity();
if (pg.settings.load().token) onTraderChanged();
