// @ts-check
import { call, curlOf, describeError } from '../common/api.js';
import { storedSettings } from '../common/dom.js';

/**
 * What every runner of the playground shares: the stored connection settings, the live regions,
 * and `run`, which shows the runner's curl command, sends the request and says how it went.
 */

/**
 * @typedef {import('../common/api.js').Request} Request
 * @typedef {import('../common/api.js').Answer} Answer
 * @typedef {{ info(text: string): void, error(text: string): void }} Say
 * @typedef {{
 *   settings: ReturnType<typeof playgroundSettings>,
 *   say: Say,
 *   conn(): import('../common/api.js').Connection,
 *   showCurl(key: string, req: Request): void,
 *   run(key: string, label: string, req: Request): Promise<Answer | null>,
 *   report(key: string, text: string, failed?: boolean): void,
 * }} Playground
 */

export function playgroundSettings() {
  return storedSettings('offramp.playground', { baseUrl: location.origin, token: '', devSecret: '', traderId: '' });
}

/**
 * @param {Say} say
 * @returns {Playground}
 */
export function createPlayground(say) {
  const settings = playgroundSettings();
  const conn = () => {
    const s = settings.load();
    return { baseUrl: s.baseUrl || location.origin, token: s.token, devSecret: s.devSecret };
  };
  /** @param {string} key @param {Request} req */
  const showCurl = (key, req) => {
    const pre = document.querySelector(`pre[data-curl="${key}"]`);
    if (pre) pre.textContent = curlOf(conn(), req);
  };
  /**
   * A runner's outcome: kept under the runner (the status region moves on with the next message)
   * and announced.
   * @param {string} key @param {string} text @param {boolean} [failed]
   */
  const report = (key, text, failed = false) => {
    const target = document.querySelector(`[data-result="${key}"]`);
    if (target) {
      target.textContent = text;
      target.classList.toggle('failed', failed);
    }
    if (failed) say.error(text);
    else say.info(text);
  };
  /** @param {string} key @param {string} label @param {Request} req */
  const run = async (key, label, req) => {
    showCurl(key, req);
    const c = conn();
    if (req.auth !== false && !c.token) {
      report(key, `${label}: no trader token yet. Mint a dev token or paste one in Connection.`, true);
      return null;
    }
    if (req.dev && !c.devSecret) {
      report(key, `${label}: the dev secret is missing (Connection).`, true);
      return null;
    }
    say.info(`${label}…`);
    const answer = await call(c, req);
    // A QA endpoint answers exactly as an absent route (404) without the right X-Dev-Secret.
    const devHint =
      req.dev && answer.status === 404
        ? ' The dev secret is wrong (QA endpoints answer 404 without the right X-Dev-Secret), or the QA endpoints are off here.'
        : '';
    if (!answer.ok) report(key, `${label} failed: ${describeError(answer)}${devHint ? `.${devHint}` : ''}`, true);
    return answer;
  };
  return { settings, say, conn, showCurl, run, report };
}
