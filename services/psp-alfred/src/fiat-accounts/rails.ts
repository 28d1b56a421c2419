import { z } from 'zod';
import type { Rail } from '@offramp/contracts';
import * as n from './numbers.ts';

/**
 * The `fiatAccountFields` a trader sends for each rail. One zod schema per rail serves both the
 * local validation (before Alfred is called) and the JSON Schema of `fiat-account-requirements`.
 * The rules follow Alfred's (alfred-sandbox.md): a number Alfred would refuse is refused here first.
 */

const compact = n.withoutSeparators;
const holder = z.string().trim().min(2).max(120).meta({ description: 'Name of the account holder' });
const bankName = z.string().trim().min(2).max(120).meta({ description: 'Bank name, e.g. BANCO POPULAR' });
const digits = (min: number, max: number) =>
  z
    .string()
    .trim()
    .max(40)
    .refine((v) => new RegExp(`^[0-9]{${min},${max}}$`).test(compact(v)), `must be ${min} to ${max} digits`)
    .meta({ description: `Account number (${min}-${max} digits)` });
const checked = (check: (v: string) => boolean, message: string, description: string) =>
  z
    .string()
    .trim()
    .min(1)
    .max(40)
    .refine((v) => check(compact(v)), message)
    .meta({ description });

type DocumentChecks = Record<string, (v: string) => boolean>;

/** A holder document: its type (optionally inferred from the number) and a number valid for that type. */
function withDocument<S extends z.ZodObject>(
  base: S,
  checks: DocumentChecks,
  opts: {
    infer?: ((number: string) => string | undefined) | undefined;
    optional?: boolean;
    also?: (f: ValidFields, ctx: z.RefinementCtx) => void;
  } = {},
) {
  const { infer, optional = false } = opts;
  const types = Object.keys(checks) as [string, ...string[]];
  const documentType = z
    .enum(types)
    .meta({ description: `One of ${types.join(', ')}${infer ? '; inferred from the number when absent' : ''}` });
  return base
    .extend({
      documentType: infer || optional ? documentType.optional() : documentType,
      documentNumber: optional ? z.string().trim().min(5).max(40).optional() : z.string().trim().min(5).max(40),
    })
    .superRefine((f, ctx) => {
      const number = f.documentNumber as string | undefined;
      if (number === undefined) return;
      const type = (f.documentType as string | undefined) ?? infer?.(compact(number));
      const check = type === undefined ? undefined : checks[type];
      if (!check) ctx.addIssue({ code: 'custom', path: ['documentType'], message: `must be one of ${types.join(', ')}` });
      else if (!check(compact(number).toUpperCase()))
        ctx.addIssue({ code: 'custom', path: ['documentNumber'], message: `must be a valid ${type}` });
    })
    .superRefine((f, ctx) => opts.also?.(f as ValidFields, ctx));
}

const byLength = (types: Record<number, string>) => (number: string) => types[number.length];

/** Where Alfred lets the document type be left out, the type the number implies. */
const documentInference: Partial<Record<Rail, (number: string) => string | undefined>> = {
  COELSA: byLength({ 11: 'CUIT', 7: 'DNI', 8: 'DNI' }),
  ACH_DOM: byLength({ 11: 'CEDULA', 9: 'RNC' }),
  ACH_CHL: () => 'RUT',
};

/** The holder document's type: as given, else as the number implies. */
export const documentTypeOf = (rail: Rail, f: ValidFields): string | undefined =>
  f.documentType ?? (f.documentNumber === undefined ? undefined : documentInference[rail]?.(compact(f.documentNumber)));

export const pixKeyTypes = ['CPF', 'CNPJ', 'EMAIL', 'PHONE', 'EVP'] as const;
export type PixKeyType = (typeof pixKeyTypes)[number];

/** The type of a pix key as written: an EVP uuid, an e-mail, a +55 phone, or a CPF/CNPJ by its check digits. */
export function pixKeyTypeOf(key: string): PixKeyType | null {
  if (n.isEvp(key)) return 'EVP';
  if (n.isEmail(key)) return 'EMAIL';
  if (n.isBrazilPhone(key)) return 'PHONE';
  if (n.isCpf(compact(key))) return 'CPF';
  if (n.isCnpj(compact(key))) return 'CNPJ';
  return null;
}

const pix = z
  .object({
    pixKey: z.string().trim().min(1).max(77).meta({ description: 'The pix key (chave): CPF, CNPJ, e-mail, +55 phone or random key (EVP)' }),
    pixKeyType: z.enum(pixKeyTypes).optional().meta({ description: 'Inferred from the key when absent' }),
    documentNumber: checked((v) => n.isCpf(v) || n.isCnpj(v), 'must be a valid CPF or CNPJ', 'CPF or CNPJ of the account holder'),
    accountName: holder,
    bankName: bankName.optional(),
  })
  .superRefine((f, ctx) => {
    const inferred = pixKeyTypeOf(f.pixKey);
    if (inferred === null || (f.pixKeyType !== undefined && f.pixKeyType !== inferred)) {
      ctx.addIssue({ code: 'custom', path: ['pixKey'], message: 'must be a valid pix key (of the given type)' });
    }
  });

const spei = z.object({
  accountNumber: checked(n.isClabe, 'must be a valid 18-digit CLABE', 'CLABE (18 digits)'),
  accountHolderName: holder,
  bankName: bankName.optional(),
});

const coelsa = withDocument(
  z.object({
    accountType: z.enum(['CBU', 'CVU', 'ALIAS']).meta({ description: 'CBU or CVU (22 digits), or an alias' }),
    accountNumber: z.string().trim().min(6).max(26).meta({ description: 'The CBU/CVU, or the alias (6-20 letters, digits, dots, dashes)' }),
    accountHolderName: holder,
    bankName: bankName.optional(),
  }),
  { CUIT: n.isCuit, CUIL: n.isCuit, DNI: n.isDniAr },
  {
    infer: documentInference.COELSA,
    optional: true,
    also: (f, ctx) => {
      const number = compact(f.accountNumber!);
      const valid =
        f.accountType === 'ALIAS'
          ? /^[A-Za-z0-9.-]{6,20}$/.test(f.accountNumber!)
          : n.isCbu(number) && (f.accountType === 'CBU' || number.startsWith('000'));
      if (!valid)
        ctx.addIssue({
          code: 'custom',
          path: ['accountNumber'],
          message: f.accountType === 'ALIAS' ? 'must be 6-20 letters, digits, dots or dashes' : `must be a valid 22-digit ${f.accountType}`,
        });
    },
  },
);

const achCo = withDocument(
  z.object({
    bankName,
    accountNumber: digits(10, 11),
    accountType: z.enum(['AHORRO', 'CORRIENTE', 'NEQUI']).meta({ description: 'NEQUI accounts are the 10-digit mobile number' }),
    accountHolderName: holder,
  }),
  {
    CC: (v) => /^[1-9][0-9]{5,9}$/.test(v),
    CE: (v) => /^[0-9]{6,10}$/.test(v),
    NIT: n.isNit,
    PP: (v) => /^[A-Z0-9]{5,20}$/.test(v),
    TI: (v) => /^[0-9]{10,11}$/.test(v),
  },
  {
    also: (f, ctx) => {
      if (f.accountType === 'NEQUI' && !/^3[0-9]{9}$/.test(compact(f.accountNumber!)))
        ctx.addIssue({ code: 'custom', path: ['accountNumber'], message: 'must be the 10-digit mobile number of the NEQUI account' });
    },
  },
);

const achDom = withDocument(
  z.object({ bankName, accountNumber: digits(5, 20), accountType: z.enum(['AHORRO', 'CORRIENTE']).optional(), accountHolderName: holder }),
  { CEDULA: n.isCedulaDo, RNC: n.isRnc },
  { infer: documentInference.ACH_DOM },
);

const bankUsa = z.object({
  bankName,
  accountNumber: digits(4, 17),
  routingNumber: checked(n.isAbaRouting, 'must be a valid 9-digit ABA routing number', 'ABA routing number (9 digits)'),
  accountType: z.enum(['CHECKING', 'SAVINGS']),
  accountHolderName: holder,
  bankAddress: z.string().trim().min(5).max(300).meta({ description: 'Street, city, state and zip of the bank' }),
});

/** The off-only rails: Alfred's field sets are assumed like ACH (bank, number, type, holder, document). */
const offOnly = (
  min: number,
  max: number,
  accountTypes: [string, ...string[]],
  documents: DocumentChecks,
  infer?: (number: string) => string | undefined,
) =>
  withDocument(
    z.object({ bankName, accountNumber: digits(min, max), accountType: z.enum(accountTypes), accountHolderName: holder }),
    documents,
    { infer },
  );

const railSchemas = {
  SPEI: spei,
  PIX: pix,
  COELSA: coelsa,
  ACH: achCo,
  ACH_DOM: achDom,
  BANK_USA: bankUsa,
  BANK_CN: offOnly(12, 19, ['SAVINGS', 'CHECKING'], { RIC: n.isRic, USCC: n.isUscc }),
  ACH_CHL: offOnly(6, 20, ['CORRIENTE', 'VISTA', 'AHORRO', 'RUT'], { RUT: n.isRut }, documentInference.ACH_CHL),
  ACH_BOL: offOnly(6, 20, ['AHORRO', 'CORRIENTE'], { CI: n.isCiBo, NIT: (v) => /^[0-9]{7,12}$/.test(v) }),
  B89: offOnly(10, 20, ['AHORRO', 'CORRIENTE'], { DNI: (v) => /^[0-9]{8}$/.test(v), RUC: n.isRuc, CE: n.isCePe }),
} satisfies Record<Rail, z.ZodType>;

/** Fields as validated: every rail's fields, loosely, for the mapping to Alfred. */
export type ValidFields = Record<string, string | undefined>;

/** Validates a rail's fields; the names of the bad fields, or the fields. */
export function validateFields(
  rail: Rail,
  raw: unknown,
): { ok: true; fields: ValidFields } | { ok: false; fields: string[]; issues: { field: string; message: string }[] } {
  const parsed = railSchemas[rail].safeParse(raw);
  if (parsed.success) return { ok: true, fields: parsed.data as ValidFields };
  const issues = parsed.error.issues.map((i) => ({ field: i.path.join('.') || '(fields)', message: i.message }));
  return { ok: false, fields: [...new Set(issues.map((i) => i.field))], issues };
}

/** The JSON Schema of a rail's fields, generated from the same zod schema that validates them. */
export function requirementsOf(rail: Rail): Record<string, unknown> {
  return z.toJSONSchema(railSchemas[rail], { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
