// @ts-check
/**
 * The gateway's HTTP API as the pages use it: one request, the envelope unpacked, and the curl
 * command that does the same. Curl commands name the token and the dev secret as $TOKEN and
 * $DEV_SECRET so that copying one, or a screenshot of the page, never carries a secret.
 */

/**
 * @typedef {{ baseUrl: string, token?: string, devSecret?: string }} Connection
 * @typedef {{ method: string, path: string, body?: unknown, auth?: boolean, dev?: boolean }} Request
 * @typedef {{ code: string, message: string, details?: any }} ApiError
 * @typedef {{ ok: boolean, status: number, data: any, error: ApiError | null, traceId: string | null }} Answer
 */

/** @param {Connection} conn @param {string} path */
function urlOf(conn, path) {
  return `${conn.baseUrl.replace(/\/+$/, '')}${path}`;
}

/**
 * Sends one request and unpacks the envelope. A network failure or a body that is not our
 * envelope is returned as an answer with code NETWORK_ERROR or BAD_ANSWER, never thrown.
 * @param {Connection} conn
 * @param {Request} req
 * @returns {Promise<Answer>}
 */
export async function call(conn, req) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (req.auth !== false && conn.token) headers.authorization = `Bearer ${conn.token}`;
  if (req.dev && conn.devSecret) headers['x-dev-secret'] = conn.devSecret;
  if (req.body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(urlOf(conn, req.path), {
      method: req.method,
      headers,
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
    });
  } catch (err) {
    return { ok: false, status: 0, data: null, error: { code: 'NETWORK_ERROR', message: String(err) }, traceId: null };
  }
  const traceId = res.headers.get('x-trace-id');
  if (res.status === 204) return { ok: true, status: 204, data: null, error: null, traceId };
  let body;
  try {
    body = await res.json();
  } catch {
    return {
      ok: false,
      status: res.status,
      data: null,
      error: { code: 'BAD_ANSWER', message: `HTTP ${res.status} without a JSON body` },
      traceId,
    };
  }
  if (body && body.success === true)
    return { ok: true, status: res.status, data: body.data, error: null, traceId: body.trace_id ?? traceId };
  const error = body && body.error ? body.error : { code: 'BAD_ANSWER', message: `HTTP ${res.status}` };
  return { ok: false, status: res.status, data: null, error, traceId: (body && body.trace_id) ?? traceId };
}

/** @param {string} text */
function shellQuote(text) {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * The curl command of a request, for QA to paste into a terminal.
 * @param {Connection} conn
 * @param {Request} req
 */
export function curlOf(conn, req) {
  const parts = [`curl -sS -X ${req.method} ${shellQuote(urlOf(conn, req.path))}`];
  if (req.auth !== false) parts.push(`-H "Authorization: Bearer $TOKEN"`);
  if (req.dev) parts.push(`-H "X-Dev-Secret: $DEV_SECRET"`);
  if (req.body !== undefined) parts.push(`-H 'content-type: application/json'`, `-d ${shellQuote(JSON.stringify(req.body))}`);
  return parts.join(' \\\n  ');
}

/**
 * One line for a failed answer: code, message, the offending fields, the trace id.
 * @param {Answer} answer
 */
export function describeError(answer) {
  const e = answer.error ?? { code: 'UNKNOWN', message: 'Unknown error' };
  const fields = Array.isArray(e.details?.fields)
    ? e.details.fields.map((/** @type {any} */ f) => (typeof f === 'string' ? f : `${f.field}: ${f.message}`)).join('; ')
    : '';
  const status = answer.status ? ` (HTTP ${answer.status})` : '';
  const trace = answer.traceId ? ` [trace ${answer.traceId}]` : '';
  return `${e.code}${status}: ${e.message}${fields ? ` (${fields})` : ''}${trace}`;
}

/**
 * The claims of a JWT, for display only (the gateway verifies; the page never trusts them).
 * @param {string | undefined} token
 * @returns {Record<string, any> | null}
 */
export function claimsOf(token) {
  const payload = token?.split('.')[1];
  if (!payload) return null;
  try {
    const json = atob(payload.replaceAll('-', '+').replaceAll('_', '/'));
    const claims = JSON.parse(json);
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}
