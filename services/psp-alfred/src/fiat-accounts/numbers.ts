import { stdnum } from 'stdnum';
import { z } from 'zod';

/**
 * Bank numbers and national ids, checked with stdnum (its check digits, not ours). The one
 * exception is the ABA routing number, which stdnum does not cover: its 3-7-1 checksum is here.
 */

const validator = (country: string, name: string) => {
  const found = stdnum[country]?.[name];
  if (!found) throw new Error(`stdnum has no ${country}.${name}`);
  return found;
};

const stdnumCheck = (country: string, name: string) => {
  const v = validator(country, name);
  return (value: string) => v.validate(value).isValid;
};

export const isClabe = stdnumCheck('MX', 'clabe');
export const isCpf = stdnumCheck('BR', 'cpf');
export const isCnpj = stdnumCheck('BR', 'cnpj');
/**
 * CBU and CVU share the format: 22 digits, two check digits. stdnum 1.12.0 computes each check
 * digit as `10 - sum` without the final `% 10`, so it refuses every CBU whose check digit is 0;
 * only when stdnum refused on the checksum alone are the two digits recomputed, to let those through.
 */
export function isCbu(value: string): boolean {
  const result = validator('AR', 'cbu').validate(value);
  if (result.isValid) return true;
  if (result.error?.name !== 'InvalidChecksum') return false;
  const check = (block: string, weights: number[]) =>
    (10 - ([...block].reduce((sum, d, i) => sum + Number(d) * weights[i % weights.length]!, 0) % 10)) % 10;
  return String(check(value.slice(0, 7), [7, 1, 3, 9])) === value[7] && String(check(value.slice(8, 21), [3, 9, 7, 1])) === value[21];
}
export const isCuit = stdnumCheck('AR', 'cuit');
export const isNit = stdnumCheck('CO', 'nit');
export const isCedulaDo = stdnumCheck('DO', 'cedula');
export const isRnc = stdnumCheck('DO', 'rnc');
export const isDniAr = stdnumCheck('AR', 'dni');
export const isRic = stdnumCheck('CN', 'ric');
export const isUscc = stdnumCheck('CN', 'uscc');
export const isRut = stdnumCheck('CL', 'rut');
export const isCiBo = stdnumCheck('BO', 'ci');
export const isRuc = stdnumCheck('PE', 'ruc');
export const isCePe = stdnumCheck('PE', 'ce');

/** Federal Reserve routing symbols: the first two digits of a valid ABA routing number. */
const routingPrefixes = /^(0[0-9]|1[0-2]|2[1-9]|3[0-2]|6[1-9]|7[0-2]|80)/;

/** ABA routing transit number: 9 digits, a Federal Reserve prefix, 3·d1 + 7·d2 + d3 + 3·d4 + … ≡ 0 (mod 10). */
export function isAbaRouting(value: string): boolean {
  if (!/^[0-9]{9}$/.test(value) || !routingPrefixes.test(value)) return false;
  const weights = [3, 7, 1, 3, 7, 1, 3, 7, 1];
  const sum = [...value].reduce((acc, d, i) => acc + Number(d) * weights[i]!, 0);
  return sum % 10 === 0;
}

const email = z.email().max(77);
export const isEmail = (value: string) => email.safeParse(value).success;
export const isBrazilPhone = (value: string) => /^\+55[1-9]{2}(9[0-9]{8}|[2-5][0-9]{7})$/.test(value);
export const isEvp = (value: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(value);

/** Without separators: people type account numbers and documents with spaces, dots and dashes. */
export const withoutSeparators = (value: string) => value.replace(/[\s./-]/g, '');
