import { patternCheck, stdnumCheck, type NumberCheck } from './stdnum-validators.ts';

/** The holder documents a rail accepts, by `metadata.documentType`. */
export interface DocumentRule {
  types: Record<string, NumberCheck>;
  /** The type implied by the number itself, when the partner lets the caller leave it out. */
  inferType?: (documentNumber: string) => string | undefined;
  required: boolean;
}

const byDigitCount =
  (types: Record<number, string>) =>
  (documentNumber: string): string | undefined =>
    types[documentNumber.replace(/[^0-9]/g, '').length];

/** Brazil: CPF (people) or CNPJ (companies), told apart by length. */
const brazil: DocumentRule = {
  types: { CPF: stdnumCheck('BR', 'cpf'), CNPJ: stdnumCheck('BR', 'cnpj') },
  inferType: byDigitCount({ 11: 'CPF', 14: 'CNPJ' }),
  required: true,
};

/** Argentina *(assumed optional)*: CUIT/CUIL (11 digits) or DNI. */
const argentina: DocumentRule = {
  types: { CUIT: stdnumCheck('AR', 'cuit'), CUIL: stdnumCheck('AR', 'cuit'), DNI: stdnumCheck('AR', 'dni') },
  inferType: byDigitCount({ 11: 'CUIT', 7: 'DNI', 8: 'DNI' }),
  required: false,
};

/** Colombia: cédula de ciudadanía or extranjería, NIT (check digit, stdnum), passport, tarjeta de identidad. */
const colombia: DocumentRule = {
  types: {
    CC: patternCheck(/^[1-9][0-9]{5,9}$/),
    CE: patternCheck(/^[0-9]{6,10}$/),
    NIT: stdnumCheck('CO', 'nit'),
    PP: patternCheck(/^[A-Za-z0-9]{5,20}$/),
    TI: patternCheck(/^[0-9]{10,11}$/),
  },
  required: true,
};

/** Dominican Republic: cédula (11 digits, Luhn) or RNC (9 digits, weighted), both stdnum. */
const dominicanRepublic: DocumentRule = {
  types: { CEDULA: stdnumCheck('DO', 'cedula'), RNC: stdnumCheck('DO', 'rnc') },
  inferType: byDigitCount({ 11: 'CEDULA', 9: 'RNC' }),
  required: true,
};

/** China: resident identity card or unified social credit code. */
const china: DocumentRule = { types: { RIC: stdnumCheck('CN', 'ric'), USCC: stdnumCheck('CN', 'uscc') }, required: true };

/** Chile: RUT (with its verifier digit). */
const chile: DocumentRule = { types: { RUT: stdnumCheck('CL', 'rut') }, inferType: () => 'RUT', required: true };

/** Bolivia: cédula de identidad (stdnum) or NIT (no public checksum, so format only). */
const bolivia: DocumentRule = { types: { CI: stdnumCheck('BO', 'ci'), NIT: patternCheck(/^[0-9]{7,12}$/) }, required: true };

/** Peru: DNI (8 digits), RUC (stdnum), carné de extranjería (stdnum). */
const peru: DocumentRule = {
  types: { DNI: patternCheck(/^[0-9]{8}$/), RUC: stdnumCheck('PE', 'ruc'), CE: stdnumCheck('PE', 'ce') },
  required: true,
};

export const documentRules = { brazil, argentina, colombia, dominicanRepublic, china, chile, bolivia, peru };

/** The fields of `metadata.documentType` / `metadata.documentNumber` that do not pass the rule. */
export function badDocumentFields(rule: DocumentRule, documentType: string | undefined, documentNumber: string | undefined): string[] {
  if (documentType === undefined && documentNumber === undefined && !rule.required) return [];
  const type = documentType ?? (documentNumber === undefined ? undefined : rule.inferType?.(documentNumber));
  const check = type !== undefined && Object.hasOwn(rule.types, type) ? rule.types[type] : undefined;
  const bad: string[] = [];
  if (!check) bad.push('metadata.documentType');
  if (documentNumber === undefined || (check && check(documentNumber) === null)) bad.push('metadata.documentNumber');
  return bad;
}
