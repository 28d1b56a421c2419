import { createHmac } from 'node:crypto';

export type SignatureFormat = 'dot' | 'concat';

/** The string Alfred signs: `t + "." + body` by default; the public record does not settle it. */
export const signedString = (unixSeconds: number, rawBody: string, format: SignatureFormat) =>
  format === 'dot' ? `${unixSeconds}.${rawBody}` : `${unixSeconds}${rawBody}`;

/** The `signature` header: `t=<unix seconds>,s=<hex HMAC-SHA256>`. */
export function signatureHeader(secret: string, rawBody: string, unixSeconds: number, format: SignatureFormat): string {
  const digest = createHmac('sha256', secret)
    .update(signedString(unixSeconds, rawBody, format))
    .digest('hex');
  return `t=${unixSeconds},s=${digest}`;
}
