import { createHash } from 'node:crypto';
import type { Rail } from '@offramp/contracts';
import { withoutSeparators } from './numbers.ts';
import { documentTypeOf, pixKeyTypeOf, type ValidFields } from './rails.ts';

/** What we keep and show of an account: never the number itself. */
export interface AccountFacts {
  maskedNumber: string;
  holderName: string;
  bankName: string | null;
  /** sha256 of rail + normalized number: the same account always gives the same fingerprint. */
  fingerprint: string;
}

/** The number that identifies the account on its rail, normalized (the pix key for PIX). */
function accountNumberOf(rail: Rail, f: ValidFields): string {
  if (rail === 'PIX') {
    const key = f.pixKey!.trim();
    const type = f.pixKeyType ?? pixKeyTypeOf(key);
    if (type === 'CPF' || type === 'CNPJ') return withoutSeparators(key);
    return type === 'EMAIL' || type === 'EVP' ? key.toLowerCase() : key;
  }
  if (rail === 'COELSA' && f.accountType === 'ALIAS') return f.accountNumber!.trim().toLowerCase();
  return withoutSeparators(f.accountNumber!);
}

const holderOf = (rail: Rail, f: ValidFields) => (rail === 'PIX' ? f.accountName! : f.accountHolderName!);

/** Shows the last four characters only; an e-mail keeps its first letter and its domain. */
export function maskNumber(value: string): string {
  const at = value.indexOf('@');
  if (at > 0) return `${value[0]}***${value.slice(at)}`;
  if (value.length <= 4) return '****';
  return `****${value.slice(-4)}`;
}

const fingerprintOf = (rail: Rail, normalizedNumber: string) => createHash('sha256').update(`${rail}:${normalizedNumber}`).digest('hex');

export function factsOf(rail: Rail, f: ValidFields): AccountFacts {
  const number = accountNumberOf(rail, f);
  return {
    maskedNumber: maskNumber(number),
    holderName: holderOf(rail, f),
    bankName: f.bankName ?? null,
    fingerprint: fingerprintOf(rail, number),
  };
}

/** Alfred's `fiatAccountFields` for a rail: numbers without separators, holder data under `metadata`. */
export function toAlfredFields(rail: Rail, f: ValidFields): Record<string, unknown> {
  const documentNumber = f.documentNumber === undefined ? undefined : withoutSeparators(f.documentNumber).toUpperCase();
  const metadata = compactObject({ accountHolderName: holderOf(rail, f), documentType: documentTypeOf(rail, f), documentNumber });
  switch (rail) {
    case 'PIX':
      return compactObject({
        accountType: f.pixKeyType ?? pixKeyTypeOf(f.pixKey!.trim()),
        accountNumber: accountNumberOf(rail, f),
        accountName: f.bankName,
        metadata: { ...metadata, documentType: documentNumber?.length === 14 ? 'CNPJ' : 'CPF' },
      });
    case 'SPEI':
      return compactObject({ accountType: 'CLABE', accountNumber: accountNumberOf(rail, f), accountName: f.bankName, metadata });
    case 'COELSA':
      return compactObject({
        accountType: f.accountType,
        accountNumber: f.accountType === 'ALIAS' ? f.accountNumber!.trim() : accountNumberOf(rail, f),
        accountName: f.bankName,
        metadata,
      });
    default:
      return compactObject({
        accountName: f.bankName,
        accountNumber: accountNumberOf(rail, f),
        accountType: f.accountType,
        routingNumber: f.routingNumber === undefined ? undefined : withoutSeparators(f.routingNumber),
        bankAddress: f.bankAddress,
        metadata,
      });
  }
}

/** Alfred names bad fields by its own paths (`metadata.documentNumber`); the trader knows ours. */
export function ourFieldName(rail: Rail, alfredField: string): string {
  const common: Record<string, string> = {
    accountName: 'bankName',
    'metadata.accountHolderName': 'accountHolderName',
    'metadata.documentNumber': 'documentNumber',
    'metadata.documentType': 'documentType',
  };
  const pix: Record<string, string> = {
    accountNumber: 'pixKey',
    accountType: 'pixKeyType',
    'metadata.accountHolderName': 'accountName',
    'metadata.documentType': 'documentNumber',
  };
  const field = alfredField.replace(/^fiatAccountFields\./, '');
  return (rail === 'PIX' ? pix[field] : undefined) ?? common[field] ?? field;
}

function compactObject(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
