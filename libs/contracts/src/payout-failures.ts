import { z } from 'zod';

/**
 * The payout failure taxonomy: Alfred's `metadata.failureReason` of a FAILED order mapped to a
 * closed set of classes, each with a trader-facing message in English, Spanish and Portuguese and
 * an action (`failureAction`). Everything here is pure.
 */

export const payoutFailureClasses = [
  'account_closed',
  'invalid_account',
  'holder_name_mismatch',
  'compliance_rejected',
  'limit_exceeded',
  'bank_unavailable',
  'deposit_not_received',
  'unknown',
] as const;
export const payoutFailureClass = z.enum(payoutFailureClasses);
export type PayoutFailureClass = z.infer<typeof payoutFailureClass>;

/**
 * Alfred's failure reasons and their class *(assumed: Alfred's public record names no list; these
 * are the reasons the sandbox emits and the spellings seen in its error messages)*. A reason is
 * compared after normalising (trimmed, upper case, every run of other characters one `_`), so
 * "Bank Unresponsive" and "BANK_UNRESPONSIVE" are the same reason. Anything else is `unknown`.
 */
export const alfredFailureReasons: Readonly<Record<string, Exclude<PayoutFailureClass, 'unknown'>>> = {
  ACCOUNT_CLOSED: 'account_closed',
  BENEFICIARY_ACCOUNT_CLOSED: 'account_closed',
  ACCOUNT_BLOCKED: 'account_closed',
  INVALID_ACCOUNT: 'invalid_account',
  INVALID_ACCOUNT_NUMBER: 'invalid_account',
  ACCOUNT_NOT_FOUND: 'invalid_account',
  INVALID_CLABE: 'invalid_account',
  INVALID_PIX_KEY: 'invalid_account',
  HOLDER_NAME_MISMATCH: 'holder_name_mismatch',
  BENEFICIARY_NAME_MISMATCH: 'holder_name_mismatch',
  NAME_MISMATCH: 'holder_name_mismatch',
  COMPLIANCE_REJECTED: 'compliance_rejected',
  AML_REJECTED: 'compliance_rejected',
  SANCTIONS_HIT: 'compliance_rejected',
  LIMIT_EXCEEDED: 'limit_exceeded',
  DAILY_LIMIT_EXCEEDED: 'limit_exceeded',
  MONTHLY_LIMIT_EXCEEDED: 'limit_exceeded',
  BANK_UNAVAILABLE: 'bank_unavailable',
  BANK_UNRESPONSIVE: 'bank_unavailable',
  BANK_TIMEOUT: 'bank_unavailable',
  DEPOSIT_NOT_RECEIVED: 'deposit_not_received',
  DEPOSIT_EXPIRED: 'deposit_not_received',
};

const normalise = (reason: string) =>
  reason
    .trim()
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_|_$/g, '');

/** The class of a raw failure reason; `unknown` for none or one not in the table. */
export function classifyFailure(rawReason: string | null | undefined): PayoutFailureClass {
  if (!rawReason) return 'unknown';
  return Object.hasOwn(alfredFailureReasons, normalise(rawReason)) ? alfredFailureReasons[normalise(rawReason)]! : 'unknown';
}

/** Classes about the fiat account itself: the account is marked errored and cannot start a new session. */
export const accountLevelClasses: readonly PayoutFailureClass[] = ['account_closed', 'invalid_account', 'holder_name_mismatch'];

/** What a failure of the class causes besides the refund: the account errored, a new order (bounded), or nothing. */
export function failureAction(c: PayoutFailureClass): 'fiat_account_errored' | 'redispatch' | 'none' {
  if (accountLevelClasses.includes(c)) return 'fiat_account_errored';
  if (c === 'bank_unavailable') return 'redispatch';
  return 'none';
}

export const messageLanguages = ['en', 'es', 'pt'] as const;
export type MessageLanguage = (typeof messageLanguages)[number];

const messages: Record<PayoutFailureClass, Record<MessageLanguage, string>> = {
  account_closed: {
    en: 'Your bank account is closed. Add a new bank account to withdraw.',
    es: 'Tu cuenta bancaria está cerrada. Agrega una nueva cuenta bancaria para retirar.',
    pt: 'Sua conta bancária está encerrada. Adicione uma nova conta bancária para sacar.',
  },
  invalid_account: {
    en: 'Your bank could not find this account. Check the account details or add a new bank account.',
    es: 'Tu banco no encontró esta cuenta. Revisa los datos de la cuenta o agrega una nueva cuenta bancaria.',
    pt: 'Seu banco não encontrou esta conta. Confira os dados da conta ou adicione uma nova conta bancária.',
  },
  holder_name_mismatch: {
    en: 'The name on your bank account does not match the name on your verified profile. Add a bank account in your own name.',
    es: 'El nombre de tu cuenta bancaria no coincide con el de tu perfil verificado. Agrega una cuenta bancaria a tu nombre.',
    pt: 'O nome da sua conta bancária não corresponde ao do seu perfil verificado. Adicione uma conta bancária em seu nome.',
  },
  compliance_rejected: {
    en: 'Our payment partner could not send this payment after a compliance review. Contact support for details.',
    es: 'Nuestro socio de pagos no pudo enviar este pago tras una revisión de cumplimiento. Contacta a soporte para más detalles.',
    pt: 'Nosso parceiro de pagamentos não pôde enviar este pagamento após uma análise de conformidade. Fale com o suporte para mais detalhes.',
  },
  limit_exceeded: {
    en: 'This payment is over a limit of your bank or our payment partner. Try a smaller amount or try again later.',
    es: 'Este pago supera un límite de tu banco o de nuestro socio de pagos. Intenta un monto menor o más tarde.',
    pt: 'Este pagamento ultrapassa um limite do seu banco ou do nosso parceiro de pagamentos. Tente um valor menor ou mais tarde.',
  },
  bank_unavailable: {
    en: 'Your bank did not respond to the payment. Please try again later.',
    es: 'Tu banco no respondió al pago. Vuelve a intentarlo más tarde.',
    pt: 'Seu banco não respondeu ao pagamento. Tente novamente mais tarde.',
  },
  deposit_not_received: {
    en: 'Our payment partner did not receive the funds for this payment in time. Please try again.',
    es: 'Nuestro socio de pagos no recibió a tiempo los fondos de este pago. Vuelve a intentarlo.',
    pt: 'Nosso parceiro de pagamentos não recebeu a tempo os fundos deste pagamento. Tente novamente.',
  },
  unknown: {
    en: 'The payment to your bank failed. Contact support if it happens again.',
    es: 'El pago a tu banco falló. Contacta a soporte si vuelve a ocurrir.',
    pt: 'O pagamento para o seu banco falhou. Fale com o suporte se acontecer de novo.',
  },
};

/** The trader-facing message of a class, in one of the three languages. */
export function failureMessage(c: PayoutFailureClass, lang: MessageLanguage): string {
  return messages[c][lang];
}

const countryLanguage: Readonly<Record<string, MessageLanguage>> = {
  BR: 'pt',
  MX: 'es',
  AR: 'es',
  CO: 'es',
  DO: 'es',
  CL: 'es',
  BO: 'es',
  PE: 'es',
};

/**
 * The language of a trader-facing message: the first of en/es/pt that `Accept-Language` accepts
 * (by q, then order; `es-MX` is `es`), else the trader's country's (BR pt; MX, AR, CO, DO, CL, BO,
 * PE es), else English.
 */
export function messageLanguage(acceptLanguage: string | null | undefined, country: string | null | undefined): MessageLanguage {
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { primary: tag.trim().toLowerCase().split('-')[0] ?? '', q: q === undefined ? 1 : Number(q), index };
    })
    .filter((l) => l.q > 0 && !Number.isNaN(l.q))
    .sort((a, b) => b.q - a.q || a.index - b.index);
  const found = ranked.find((l) => (messageLanguages as readonly string[]).includes(l.primary));
  if (found) return found.primary as MessageLanguage;
  return countryLanguage[(country ?? '').toUpperCase()] ?? 'en';
}

/** What the trader is shown of a failure. */
export const payoutFailureView = z.object({ class: payoutFailureClass, message: z.string() });
