import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { newId, queryRow } from '@offramp/kit';
import type { System } from './system.ts';

/** A partner as the operator's create (or rotate) answers it: the two secrets are shown there only. */
export interface Partner {
  partner_id: string;
  api_key_id: string;
  api_secret: string;
  webhook_secret: string;
}

type Signer = Pick<Partner, 'api_key_id' | 'api_secret'>;

/** The partner's `x-payload-hash`: HMAC-SHA256 of the exact bytes, hex. */
export const hmacHex = (secret: string, data: string) => createHmac('sha256', secret).update(data, 'utf8').digest('hex');

/** A withdrawal request body of the partner API for a trader with a BR (PIX) account, 100.00 BRL. */
export const partnerRequestBody = (t: { trader: string; holder: string; accountId: string }, extra: Record<string, unknown> = {}) => ({
  withdrawRequestId: `wr-${newId()}`,
  withdrawRequestDate: Date.now(),
  userId: t.trader,
  userName: t.holder,
  fiatCurrency: 'BRL',
  fiatAmount: '100.00',
  currency: 'USDT',
  fiatAccountId: t.accountId,
  ...extra,
});

/** A POST signed as a partner signs it: the HMAC of the exact raw body (hex unless a hash is given). */
export const signedPartnerPost = (sys: System, p: Signer, body: unknown, opts: { hash?: string; raw?: string } = {}) => {
  const raw = opts.raw ?? JSON.stringify(body);
  return sys.http('POST', '/partner/v1/withdrawal-requests', {
    body: raw,
    headers: { 'content-type': 'application/json', 'x-api-key': p.api_key_id, 'x-payload-hash': opts.hash ?? hmacHex(p.api_secret, raw) },
  });
};

/** A GET of a request's state, signed over its request target (path and query string). */
export const signedPartnerQuery = (sys: System, p: Signer, withdrawRequestId: string) => {
  const path = `/partner/v1/withdrawal-requests/${encodeURIComponent(withdrawRequestId)}`;
  return sys.http('GET', path, { headers: { 'x-api-key': p.api_key_id, 'x-payload-hash': hmacHex(p.api_secret, path) } });
};

/** The session a partner request opened (the QA emit-offramp names the order by it). */
export const sessionOfPartnerRequest = async (sys: System, withdrawRequestId: string) =>
  (await queryRow(
    sys.databases.sessions.em.fork(),
    z.object({ session_id: z.string() }),
    'select session_id from partner_requests where withdraw_request_id = ?',
    [withdrawRequestId],
  ))!.session_id;
