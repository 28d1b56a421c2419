import { z } from 'zod';
import type { FiatAccountType } from '../quotes/pairs.ts';
import { fieldNames } from '../transport/parse.ts';
import { accept, refuse, type Outcome } from '../transport/refusals.ts';
import { isAbaRoutingNumber, isCbu, isClabe, isCoelsaAlias, isCvu, isPixKey, isPixKeyType } from './bank-numbers.ts';
import { badDocumentFields, documentRules, type DocumentRule } from './documents.ts';

const text = (max: number) => z.string().max(max).optional();

/** The fields Alfred reads per rail; others are kept and echoed back. */
export const fiatAccountFieldsSchema = z.looseObject({
  accountNumber: text(64),
  accountType: text(20),
  accountName: text(120),
  accountAlias: text(64),
  accountBankCode: text(20),
  networkIdentifier: text(64),
  routingNumber: text(20),
  bankAddress: text(300),
  metadata: z.looseObject({ accountHolderName: text(140), documentType: text(20), documentNumber: text(40) }).optional(),
});

export type FiatAccountFields = z.infer<typeof fiatAccountFieldsSchema>;

const present = (value: string | undefined) => value !== undefined && value.trim().length > 0;
const badIf = (wrong: boolean, field: string) => (wrong ? [field] : []);
const digitsBetween = (value: string | undefined, min: number, max: number) =>
  value !== undefined && new RegExp(`^[0-9]{${min},${max}}$`).test(value);
const oneOf = (value: string | undefined, options: readonly string[]) => value !== undefined && options.includes(value);

const holderName = (f: FiatAccountFields) => badIf(!present(f.metadata?.accountHolderName), 'metadata.accountHolderName');
const bankName = (f: FiatAccountFields) => badIf(!present(f.accountName), 'accountName');
const documents = (f: FiatAccountFields, rule: DocumentRule) =>
  badDocumentFields(rule, f.metadata?.documentType, f.metadata?.documentNumber);

function pix(f: FiatAccountFields): string[] {
  const keyType = f.accountType;
  if (!isPixKeyType(keyType)) return ['accountType', ...badIf(!present(f.accountNumber), 'accountNumber')];
  return badIf(!isPixKey(keyType, f.accountNumber), 'accountNumber');
}

function coelsa(f: FiatAccountFields): string[] {
  const checks: Record<string, (value: string | undefined) => boolean> = { CBU: isCbu, CVU: isCvu, ALIAS: isCoelsaAlias };
  const check = f.accountType !== undefined && Object.hasOwn(checks, f.accountType) ? checks[f.accountType] : undefined;
  if (!check) return ['accountType', ...badIf(!present(f.accountNumber), 'accountNumber')];
  return badIf(!check(f.accountNumber), 'accountNumber');
}

/** Bank name, account number length, account type and holder document: the ACH family's shape. */
const achLike =
  (opts: { minDigits: number; maxDigits: number; accountTypes: readonly string[]; optionalType?: boolean; documents: DocumentRule }) =>
  (f: FiatAccountFields): string[] => [
    ...bankName(f),
    ...badIf(!digitsBetween(f.accountNumber, opts.minDigits, opts.maxDigits), 'accountNumber'),
    ...badIf(!(opts.optionalType && f.accountType === undefined) && !oneOf(f.accountType, opts.accountTypes), 'accountType'),
    ...documents(f, opts.documents),
  ];

/** Nequi accounts are the holder's 10-digit Colombian mobile number. */
const colombianAch = (f: FiatAccountFields) => [
  ...achLike({ minDigits: 10, maxDigits: 11, accountTypes: ['AHORRO', 'CORRIENTE', 'NEQUI'], documents: documentRules.colombia })(f),
  ...badIf(f.accountType === 'NEQUI' && !/^3[0-9]{9}$/.test(f.accountNumber ?? ''), 'accountNumber'),
];

function bankUsa(f: FiatAccountFields): string[] {
  return [
    ...bankName(f),
    ...badIf(!digitsBetween(f.accountNumber, 4, 17), 'accountNumber'),
    ...badIf(!isAbaRoutingNumber(f.routingNumber), 'routingNumber'),
    ...badIf(!oneOf(f.accountType, ['CHECKING', 'SAVINGS']), 'accountType'),
    ...badIf(!present(f.bankAddress), 'bankAddress'),
  ];
}

/** Per rail, the names of the fields that are missing or wrong (empty when the account is good). */
const railChecks: Record<FiatAccountType, (f: FiatAccountFields) => string[]> = {
  SPEI: (f) => [...badIf(f.accountType !== 'CLABE', 'accountType'), ...badIf(!isClabe(f.accountNumber), 'accountNumber')],
  PIX: (f) => [...pix(f), ...documents(f, documentRules.brazil)],
  COELSA: (f) => [...coelsa(f), ...documents(f, documentRules.argentina)],
  ACH: colombianAch,
  ACH_DOM: achLike({
    minDigits: 5,
    maxDigits: 20,
    accountTypes: ['AHORRO', 'CORRIENTE'],
    optionalType: true,
    documents: documentRules.dominicanRepublic,
  }),
  BANK_USA: bankUsa,
  BANK_CN: achLike({ minDigits: 12, maxDigits: 19, accountTypes: ['SAVINGS', 'CHECKING'], documents: documentRules.china }),
  ACH_CHL: achLike({ minDigits: 6, maxDigits: 20, accountTypes: ['CORRIENTE', 'VISTA', 'AHORRO', 'RUT'], documents: documentRules.chile }),
  ACH_BOL: achLike({ minDigits: 6, maxDigits: 20, accountTypes: ['AHORRO', 'CORRIENTE'], documents: documentRules.bolivia }),
  B89: achLike({ minDigits: 10, maxDigits: 20, accountTypes: ['AHORRO', 'CORRIENTE'], documents: documentRules.peru }),
};

/**
 * Checks a rail's fields; every bad field is named at once, as `fiatAccountFields`-relative paths.
 * Every rail needs the holder's name. Outcomes: ok, invalid_fiat_account.
 */
export function validateRailFields(type: FiatAccountType, raw: unknown): Outcome<FiatAccountFields> {
  const parsed = fiatAccountFieldsSchema.safeParse(raw);
  if (!parsed.success) return refuse('invalid_fiat_account', { fields: fieldNames(parsed.error) });
  const bad = [...new Set([...railChecks[type](parsed.data), ...holderName(parsed.data)])];
  return bad.length === 0 ? accept(parsed.data) : refuse('invalid_fiat_account', { fields: bad });
}

/** The number that makes two registrations the same account: case and separators do not count. */
export function accountKeyOf(type: FiatAccountType, fields: FiatAccountFields): string {
  const number = (fields.accountNumber ?? '').trim();
  const caseInsensitive = (type === 'PIX' && fields.accountType === 'EMAIL') || (type === 'COELSA' && fields.accountType === 'ALIAS');
  return caseInsensitive ? number.toLowerCase() : number;
}
