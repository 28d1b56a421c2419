// @ts-check
import { call, claimsOf, describeError } from '../common/api.js';
import { announcer, busy, byId, formatTime, storedSettings } from '../common/dom.js';
import { createApprovalsPanel } from './approvals.js';
import { createExceptionViews } from './exceptions.js';
import { createFreezePanel, createSyncPanel } from './operations.js';
import { createReportsPanel } from './reports.js';
import { createWithdrawalViews } from './withdrawals.js';

/**
 * The operator console: keeps an operator JWT, and drives the operator API (`/api/admin/*`)
 * of API.md. The page never decides who may do what; the API answers 401/403 and the page says so.
 */

const settings = storedSettings('offramp.console', { token: '', operatorId: 'operator-1', devSecret: '' });
const say = announcer(byId('status'), byId('alert'));

/** @param {import('../common/api.js').Request} req */
async function api(req) {
  const { token, devSecret } = settings.load();
  return call({ baseUrl: location.origin, token, devSecret }, req);
}

/** @type {import('./withdrawals.js').ConsoleContext} */
const ctx = {
  api,
  say,
  /** An action's refusal, said in the alert region. */
  refused(what, answer) {
    const hint =
      answer.status === 401
        ? ' Save a valid operator token first.'
        : answer.status === 403
          ? ' The token is not an operator (admin) token.'
          : '';
    say.error(`${what} failed: ${describeError(answer)}.${hint}`);
  },
};

/** The operator of the saved token (display and four-eyes buttons only; the API decides). */
const me = () => {
  const sub = claimsOf(settings.load().token)?.sub;
  return typeof sub === 'string' ? sub : null;
};
/** @type {{ refresh(): Promise<void> }} */
let approvals = { refresh: async () => {} };
const withdrawals = createWithdrawalViews(ctx, () => approvals.refresh());
const freeze = createFreezePanel(ctx, () => approvals.refresh());
approvals = createApprovalsPanel(ctx, me, async () => {
  await Promise.all([withdrawals.refresh(), freeze.refresh()]);
});
// The sync panel wires its own form; nothing else calls it.
createSyncPanel(ctx, () => withdrawals.refresh());
const exceptions = createExceptionViews(ctx);
// The reports panel loads on demand (a day is chosen first).
createReportsPanel(ctx, () => settings.load());

function showIdentity() {
  const { token } = settings.load();
  const claims = claimsOf(token);
  const who = byId('whoami');
  if (!token) who.textContent = 'No operator token yet: paste one, or mint a dev token.';
  else if (!claims) who.textContent = 'The saved token is not a JWT.';
  else {
    const role = claims.role === 'admin' ? 'operator (admin)' : `role "${claims.role ?? 'none'}", not an operator`;
    who.textContent = `Token for ${claims.sub}, ${role}, expires ${formatTime(new Date(Number(claims.exp) * 1000).toISOString())}.`;
  }
}

async function loadEverything() {
  await Promise.all([withdrawals.refresh(), freeze.refresh(), exceptions.refresh(), approvals.refresh()]);
}

function wireToken() {
  const form = /** @type {HTMLFormElement} */ (byId('token-form'));
  const input = /** @type {HTMLTextAreaElement} */ (byId('token'));
  const stored = settings.load();
  input.value = stored.token;
  /** @type {HTMLInputElement} */ (byId('operator-id')).value = stored.operatorId;
  /** @type {HTMLInputElement} */ (byId('dev-secret')).value = stored.devSecret;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    settings.save({ ...settings.load(), token: input.value.trim() });
    showIdentity();
    say.info('Token saved.');
    await loadEverything();
  });
  byId('forget-token').addEventListener('click', () => {
    settings.save({ ...settings.load(), token: '' });
    input.value = '';
    showIdentity();
    say.info('Token forgotten.');
  });
  const mint = /** @type {HTMLFormElement} */ (byId('mint-form'));
  mint.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(mint.querySelector('button'), () => mintToken(input));
  });
}

/** @param {HTMLTextAreaElement} input */
async function mintToken(input) {
  const operatorId = /** @type {HTMLInputElement} */ (byId('operator-id')).value.trim();
  const devSecret = /** @type {HTMLInputElement} */ (byId('dev-secret')).value;
  if (!operatorId || !devSecret) return say.error('Minting needs an operator id and the dev secret.');
  settings.save({ ...settings.load(), operatorId, devSecret });
  const answer = await api({
    method: 'POST',
    path: '/psp/alfred/__dev/token',
    body: { sub: operatorId, role: 'admin' },
    dev: true,
    auth: false,
  });
  if (!answer.ok) {
    const hint = answer.status === 404 ? ' The QA endpoints are off here, or the dev secret is wrong.' : '';
    return say.error(`Minting a dev token failed: ${describeError(answer)}.${hint}`);
  }
  input.value = answer.data.token;
  settings.save({ ...settings.load(), token: answer.data.token });
  showIdentity();
  say.info(`Dev token minted for operator ${operatorId}.`);
  await loadEverything();
}

wireToken();
showIdentity();
if (settings.load().token) loadEverything();
