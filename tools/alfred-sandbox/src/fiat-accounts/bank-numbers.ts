import { z } from 'zod';
import { failsOnlyOnChecksum, stdnumCheck } from './stdnum-validators.ts';

/** Account numbers go to Alfred as plain digits; separators are a format error, not something to strip. */
const digitsOnly = (value: string | undefined, length: number) => value !== undefined && new RegExp(`^[0-9]{${length}}$`).test(value);

const clabeCheck = stdnumCheck('MX', 'clabe');

/** CLABE: 18 digits, a known bank and city code, and its weighted check digit (stdnum). */
export const isClabe = (value: string | undefined) => digitsOnly(value, 18) && clabeCheck(value!) !== null;

const cbuCheck = stdnumCheck('AR', 'cbu');

/**
 * stdnum 1.12.0 computes each CBU check digit as `10 - sum` without the final `% 10`, so it refuses
 * every real CBU whose check digit is 0 (about one in five). This recomputes the two blocks only
 * when stdnum refused on the checksum alone, and only to let those numbers through.
 */
function cbuZeroDigitAccepted(value: string): boolean {
  if (!failsOnlyOnChecksum('AR', 'cbu', value)) return false;
  const checkDigit = (digits: string, weights: number[]) =>
    (10 - ([...digits].reduce((sum, digit, i) => sum + Number(digit) * weights[i % weights.length]!, 0) % 10)) % 10;
  const first = checkDigit(value.slice(0, 7), [7, 1, 3, 9]);
  const second = checkDigit(value.slice(8, 21), [3, 9, 7, 1]);
  return String(first) === value[7] && String(second) === value[21];
}

/** CBU: 22 digits, bank-branch block and account block each with its check digit. */
export const isCbu = (value: string | undefined) => digitsOnly(value, 22) && (cbuCheck(value!) !== null || cbuZeroDigitAccepted(value!));

/** CVU: a virtual account; the CBU layout and check digits, with the entity block starting `000`. */
export const isCvu = (value: string | undefined) => isCbu(value) && value!.startsWith('000');

/** COELSA alias: 6 to 20 letters, digits, dots and hyphens. */
export const isCoelsaAlias = (value: string | undefined) => value !== undefined && /^[A-Za-z0-9.-]{6,20}$/.test(value);

/** Federal Reserve routing symbols: the first two digits of a valid ABA routing number. */
const routingPrefixes = /^(0[0-9]|1[0-2]|2[1-9]|3[0-2]|6[1-9]|7[0-2]|80)/;

/**
 * ABA routing number: 9 digits, a Federal Reserve prefix and the 3-7-1 weighted checksum. stdnum has
 * no US routing-number validator, so this one check is written here.
 */
export function isAbaRoutingNumber(value: string | undefined): boolean {
  if (!digitsOnly(value, 9) || !routingPrefixes.test(value!)) return false;
  const weights = [3, 7, 1];
  const sum = [...value!].reduce((acc, digit, i) => acc + Number(digit) * weights[i % 3]!, 0);
  return sum % 10 === 0;
}

export const pixKeyTypes = ['CPF', 'CNPJ', 'EMAIL', 'PHONE', 'EVP'] as const;
export type PixKeyType = (typeof pixKeyTypes)[number];

const cpfCheck = stdnumCheck('BR', 'cpf');
const cnpjCheck = stdnumCheck('BR', 'cnpj');
const email = z.email().max(77);

/** A PIX key as the DICT stores it: CPF/CNPJ digits, e-mail, +55 phone, or a random (EVP) UUID. */
const pixKeyChecks: Record<PixKeyType, (key: string) => boolean> = {
  CPF: (key) => digitsOnly(key, 11) && cpfCheck(key) !== null,
  CNPJ: (key) => digitsOnly(key, 14) && cnpjCheck(key) !== null,
  EMAIL: (key) => email.safeParse(key).success,
  PHONE: (key) => /^\+55[1-9]{2}(9[0-9]{8}|[2-5][0-9]{7})$/.test(key),
  EVP: (key) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(key),
};

export const isPixKey = (type: PixKeyType, key: string | undefined) => key !== undefined && pixKeyChecks[type](key);

export const isPixKeyType = (value: string | undefined): value is PixKeyType =>
  (pixKeyTypes as readonly (string | undefined)[]).includes(value);
