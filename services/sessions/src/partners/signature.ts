import { createHmac, timingSafeEqual } from 'node:crypto';
import { ok, refuse, type ServiceResult } from '@offramp/contracts';
import type { Database } from '@offramp/kit';
import { partnerCredentials } from './partners-store.ts';

/**
 * The partner's `x-payload-hash`: HMAC-SHA256 with its apiSecret over the exact bytes it sent (the
 * raw body of a POST, the request target of a GET), as lowercase (or upper-case) hex, or base64.
 * Null when the header is neither.
 */
export function decodePayloadHash(header: string): Buffer | null {
  const text = header.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) return Buffer.from(text, 'base64');
  return null;
}

export const payloadMac = (secret: string, signed: Buffer) => createHmac('sha256', secret).update(signed).digest();

/** Whether `header` is the MAC of `signed` with `secret`; compared in constant time. */
export function signatureMatches(secret: string, signed: Buffer, header: string): boolean {
  const given = decodePayloadHash(header);
  const expected = payloadMac(secret, signed);
  return given !== null && given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Who signed: PARTNER_UNAUTHORIZED (unknown key), PARTNER_SIGNATURE_INVALID, PARTNER_DISABLED, in
 * that order; else the partner. The secret is read here and goes nowhere else.
 */
export async function authenticatePartner(
  db: Database,
  req: { apiKeyId: string; payloadHash: string; signed: string },
): Promise<ServiceResult<{ partnerId: string }>> {
  const partner = req.apiKeyId ? await partnerCredentials(db.em.fork(), req.apiKeyId) : null;
  if (!partner) return refuse('PARTNER_UNAUTHORIZED', 'Unknown API key (x-api-key)');
  if (!signatureMatches(partner.api_secret, Buffer.from(req.signed, 'base64'), req.payloadHash))
    return refuse('PARTNER_SIGNATURE_INVALID', 'x-payload-hash is not the HMAC-SHA256 of the request with the API secret');
  if (partner.status !== 'active') return refuse('PARTNER_DISABLED', 'The partner is disabled');
  return ok({ partnerId: partner.partner_id });
}
