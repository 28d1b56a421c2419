import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureFormat = 'dot' | 'concat';

export type SignatureCheck = 'valid' | 'missing' | 'malformed' | 'stale' | 'mismatch';

const headerPattern = /^t=([0-9]{1,12}),s=([0-9a-fA-F]{64})$/;

/** The signed string: `t + "." + body` by default, `t + body` when Alfred is configured so. */
const signedString = (t: string, rawBody: Buffer, format: SignatureFormat) =>
  Buffer.concat([Buffer.from(format === 'dot' ? `${t}.` : t, 'utf8'), rawBody]);

/**
 * Checks Alfred's `signature: t=<unix seconds>,s=<hex HMAC-SHA256>` header over the raw body.
 * Outcomes: valid, missing, malformed, stale (outside the tolerance either way), mismatch.
 * The digests are compared in constant time.
 */
export function verifySignature(opts: {
  header: string | undefined;
  rawBody: Buffer;
  secret: string;
  format: SignatureFormat;
  toleranceSeconds: number;
  nowMs: number;
}): SignatureCheck {
  if (!opts.header) return 'missing';
  const match = headerPattern.exec(opts.header.trim());
  if (!match) return 'malformed';
  const t = match[1]!;
  const given = match[2]!;
  if (Math.abs(opts.nowMs / 1000 - Number(t)) > opts.toleranceSeconds) return 'stale';
  const expected = createHmac('sha256', opts.secret)
    .update(signedString(t, opts.rawBody, opts.format))
    .digest();
  const actual = Buffer.from(given, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected) ? 'valid' : 'mismatch';
}
