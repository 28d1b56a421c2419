import { createHash } from 'node:crypto';

const base58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const base32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function charsFrom(seed: string, alphabet: string, length: number): string {
  const bytes = createHash('sha512').update(seed).digest();
  return Array.from({ length }, (_, i) => alphabet[bytes[i % bytes.length]! % alphabet.length]).join('');
}

/**
 * A deposit address shaped like the chain's own (prefix, alphabet, length), derived from the order
 * id so that it is stable. It is not a real key and carries no valid checksum.
 */
export function depositAddressFor(chain: string, transactionId: string): string {
  const seed = `${chain}:${transactionId}`;
  switch (chain) {
    case 'TRON':
      return `T${charsFrom(seed, base58, 33)}`;
    case 'SOL':
      return charsFrom(seed, base58, 44);
    case 'XLM':
      return `G${charsFrom(seed, base32, 55)}`;
    default:
      return `0x${createHash('sha256').update(seed).digest('hex').slice(0, 40)}`;
  }
}

/** A transaction hash shaped like the chain's, for the emulated deposit. */
export function depositTxHashFor(chain: string, transactionId: string): string {
  const hex = createHash('sha256').update(`deposit:${transactionId}`).digest('hex');
  if (chain === 'SOL') return charsFrom(`deposit:${transactionId}`, base58, 88);
  return chain === 'TRON' || chain === 'XLM' ? hex : `0x${hex}`;
}
