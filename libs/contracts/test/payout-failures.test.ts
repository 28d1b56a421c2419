import { describe, expect, it } from 'vitest';
import {
  alfredFailureReasons,
  classifyFailure,
  failureAction,
  failureMessage,
  messageLanguage,
  messageLanguages,
  payoutFailureClasses,
  type PayoutFailureClass,
} from '../src/index.ts';

const examples: Record<PayoutFailureClass, string> = {
  account_closed: 'ACCOUNT_CLOSED',
  invalid_account: 'INVALID_ACCOUNT',
  holder_name_mismatch: 'HOLDER_NAME_MISMATCH',
  compliance_rejected: 'COMPLIANCE_REJECTED',
  limit_exceeded: 'LIMIT_EXCEEDED',
  bank_unavailable: 'BANK_UNAVAILABLE',
  deposit_not_received: 'DEPOSIT_NOT_RECEIVED',
  unknown: 'QA_SIMULATED_FAILURE',
};

describe('payout failure taxonomy', () => {
  it.each(payoutFailureClasses.map((c) => [c, examples[c]] as const))(
    'when Alfred fails an order for class %s (%s), then it classifies to it',
    (c, reason) => {
      expect(classifyFailure(reason)).toBe(c);
    },
  );

  it('when a reason is in the table, then every spelling (case, spaces, dashes) is the same reason', () => {
    for (const [reason, c] of Object.entries(alfredFailureReasons)) expect(classifyFailure(reason), reason).toBe(c);
    expect(classifyFailure('Bank Unresponsive')).toBe('bank_unavailable');
    expect(classifyFailure('  holder-name mismatch ')).toBe('holder_name_mismatch');
  });

  it('when a reason is missing, unseen or looks like an object key, then it is unknown', () => {
    for (const r of [null, undefined, '', 'SANDBOX_SIMULATED_FAILURE', 'UNKNOWN', 'constructor', '__proto__', 'toString'])
      expect(classifyFailure(r), String(r)).toBe('unknown');
  });

  it('when each class is asked in each language, then it has its own non-empty message', () => {
    for (const lang of messageLanguages) {
      const seen = new Set<string>();
      for (const c of payoutFailureClasses) {
        const m = failureMessage(c, lang);
        expect(m.length).toBeGreaterThan(10);
        seen.add(m);
      }
      expect(seen.size).toBe(payoutFailureClasses.length);
    }
    expect(failureMessage('account_closed', 'en')).toMatch(/closed/);
    expect(failureMessage('account_closed', 'es')).toMatch(/cerrada/);
    expect(failureMessage('account_closed', 'pt')).toMatch(/encerrada/);
  });

  it('when the class is about the account, then the account is errored; bank_unavailable is re-dispatched; others only refund', () => {
    expect(payoutFailureClasses.map((c) => [c, failureAction(c)])).toEqual([
      ['account_closed', 'fiat_account_errored'],
      ['invalid_account', 'fiat_account_errored'],
      ['holder_name_mismatch', 'fiat_account_errored'],
      ['compliance_rejected', 'none'],
      ['limit_exceeded', 'none'],
      ['bank_unavailable', 'redispatch'],
      ['deposit_not_received', 'none'],
      ['unknown', 'none'],
    ]);
  });

  it('when Accept-Language names en, es or pt, then it wins over the country, by q then order', () => {
    expect(messageLanguage('pt-BR,pt;q=0.9', 'MX')).toBe('pt');
    expect(messageLanguage('es-MX', 'BR')).toBe('es');
    expect(messageLanguage('en-US,en;q=0.9', 'BR')).toBe('en');
    expect(messageLanguage('fr-FR, es;q=0.5, pt;q=0.8', 'US')).toBe('pt');
    expect(messageLanguage('de, *;q=0.1', 'BR')).toBe('pt');
    expect(messageLanguage('pt;q=0, es', null)).toBe('es');
  });

  it('when Accept-Language names none of them, then the country decides: BR pt, Spanish-speaking es, else en', () => {
    expect(messageLanguage(null, 'BR')).toBe('pt');
    for (const c of ['MX', 'AR', 'CO', 'DO', 'CL', 'BO', 'PE']) expect(messageLanguage(undefined, c), c).toBe('es');
    expect(messageLanguage('', 'US')).toBe('en');
    expect(messageLanguage('fr', 'CN')).toBe('en');
    expect(messageLanguage(null, null)).toBe('en');
  });
});
