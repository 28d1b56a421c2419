import { ok, rail, refuse, type FiatAccountView, type Rail, type ServiceResult } from '@offramp/contracts';
import type { Database, Logger } from '@offramp/kit';
import type { AlfredClient } from '../alfred/client.ts';
import type { AlfredErrorBody } from '../alfred/schemas.ts';
import { onUserPath, unexpectedRefusal } from '../alfred/user-path.ts';
import { requireEligible, routesOf } from '../traders/eligibility.ts';
import { findTrader, kycNameOf } from '../traders/traders.ts';
import { factsOf, ourFieldName, toAlfredFields, type AccountFacts } from './alfred-fields.ts';
import { requirementsOf, validateFields } from './rails.ts';
import { findAccount, findAccountByFingerprint, insertAccount, listAccounts, markDeleted } from './fiat-accounts-store.ts';

const bankUsaMessage = 'BANK_USA unavailable, contact support';

function parseRail(type: string): ServiceResult<Rail> {
  const parsed = rail.safeParse(type);
  return parsed.success
    ? ok(parsed.data)
    : refuse('VALIDATION_ERROR', `Unknown fiat account type: ${type.slice(0, 40)}`, {
        details: { fields: [{ field: 'type', message: `must be one of ${rail.options.join(', ')}` }] },
      });
}

/** Fiat accounts per rail: validated here first, registered at Alfred, kept masked. */
export function createFiatAccounts(deps: { db: Database; alfred: AlfredClient }) {
  const { db, alfred } = deps;

  /** The JSON Schema of a rail's fields. Refusals: VALIDATION_ERROR (unknown type). */
  function requirements(type: string): ServiceResult<{ type: Rail; schema: Record<string, unknown> }> {
    const parsed = parseRail(type);
    return parsed.ok ? ok({ type: parsed.data, schema: requirementsOf(parsed.data) }) : parsed;
  }

  /** Maps Alfred's refusal of a registration. BANK_USA's partner bug keeps Alfred's status; it is never retried. */
  async function refusalOf(
    log: Logger,
    r: Rail,
    traderId: string,
    customerId: string,
    facts: AccountFacts,
    status: number,
    error: AlfredErrorBody,
  ): Promise<ServiceResult<{ fiatAccountId: string }>> {
    const code = error.errorCode;
    if (r === 'BANK_USA' && (code === 111485 || code === 110003)) {
      return refuse('ALFRED_BANK_USA_UNAVAILABLE', bankUsaMessage, { status, details: { partnerCode: code } });
    }
    if (code === 111484) {
      const fields = Array.isArray(error.errorMetadata?.fields) ? error.errorMetadata.fields.map((f) => ourFieldName(r, String(f))) : [];
      return refuse('FIAT_ACCOUNT_INVALID', 'Fiat account is invalid', { details: { fields, partnerCode: code } });
    }
    if (code === 111485) {
      // Alfred has it but we do not: an earlier registration whose answer was lost. Adopt it, so a
      // retry after a timeout gives the account rather than a duplicate the trader cannot see.
      const existingId = typeof error.errorMetadata?.fiatAccountId === 'string' ? error.errorMetadata.fiatAccountId : null;
      const em = db.em.fork();
      if (existingId && !(await findAccount(em, traderId, existingId))) {
        await insertAccount(em, { fiatAccountId: existingId, traderId, customerId, rail: r, facts });
        return ok({ fiatAccountId: existingId });
      }
      return refuse('FIAT_ACCOUNT_DUPLICATE', 'Fiat account already exists', { details: { partnerCode: code } });
    }
    if (code === 111406) return refuse('ALFRED_KYC_PENDING', 'KYC review at the PSP is pending');
    return unexpectedRefusal(log, 'create-fiat-account', status, error);
  }

  /**
   * Registers an account. Refusals: VALIDATION_ERROR (unknown type, rail not of the trader's
   * country), eligibility refusals, FIAT_ACCOUNT_INVALID (before Alfred is called, or Alfred's
   * 111484), FIAT_ACCOUNT_DUPLICATE, ALFRED_BANK_USA_UNAVAILABLE, PSP_UNAVAILABLE.
   */
  async function create(
    req: { traderId: string; type: string; fields: Record<string, unknown> },
    log: Logger,
  ): Promise<ServiceResult<{ fiatAccountId: string }>> {
    const parsed = parseRail(req.type);
    if (!parsed.ok) return parsed;
    const r = parsed.data;
    const gate = requireEligible(await findTrader(db.em.fork(), req.traderId));
    if (!gate.ok) return gate;
    const { country, customerId } = gate.data;
    if (!routesOf(country).some((route) => route.rail === r)) {
      return refuse('VALIDATION_ERROR', `${r} is not a rail of ${country}`, {
        details: { fields: [{ field: 'type', message: `not offered in ${country}` }] },
      });
    }
    const valid = validateFields(r, req.fields);
    if (!valid.ok)
      return refuse('FIAT_ACCOUNT_INVALID', 'Fiat account is invalid', { details: { fields: valid.fields, issues: valid.issues } });
    const facts = factsOf(r, valid.fields);
    if (await findAccountByFingerprint(db.em.fork(), req.traderId, facts.fingerprint))
      return refuse('FIAT_ACCOUNT_DUPLICATE', 'Fiat account already exists');
    return onUserPath(log, async () => {
      const answer = await alfred.createFiatAccount({ customerId, type: r, fiatAccountFields: toAlfredFields(r, valid.fields) });
      if (!answer.ok) return refusalOf(log, r, req.traderId, customerId, facts, answer.status, answer.error);
      await insertAccount(db.em.fork(), { fiatAccountId: answer.data.fiatAccountId, traderId: req.traderId, customerId, rail: r, facts });
      log.info({ fiatAccountId: answer.data.fiatAccountId, rail: r }, 'fiat account registered');
      return ok({ fiatAccountId: answer.data.fiatAccountId });
    });
  }

  async function list(traderId: string): Promise<FiatAccountView[]> {
    return (await listAccounts(db.em.fork(), traderId)).map((a) => a.view);
  }

  /** Deletes at Alfred, then here. Refusals: FIAT_ACCOUNT_NOT_FOUND (also another trader's), PSP_UNAVAILABLE. */
  async function remove(req: { traderId: string; fiatAccountId: string }, log: Logger): Promise<ServiceResult<{ deleted: true }>> {
    const account = await findAccount(db.em.fork(), req.traderId, req.fiatAccountId);
    if (!account) return refuse('FIAT_ACCOUNT_NOT_FOUND', 'Fiat account not found');
    return onUserPath(log, async () => {
      const answer = await alfred.deleteFiatAccount(account.customerId, req.fiatAccountId);
      // Already gone at Alfred (404) is the outcome we wanted.
      if (!answer.ok && answer.status !== 404) return unexpectedRefusal(log, 'delete-fiat-account', answer.status, answer.error);
      await markDeleted(db.em.fork(), req.fiatAccountId);
      return ok({ deleted: true as const });
    });
  }

  /** What a withdrawal needs of its destination. Refusals: FIAT_ACCOUNT_NOT_FOUND, FIAT_ACCOUNT_ERRORED. */
  async function destination(req: { traderId: string; fiatAccountId: string }) {
    const em = db.em.fork();
    const account = await findAccount(em, req.traderId, req.fiatAccountId);
    const trader = account ? await findTrader(em, req.traderId) : null;
    if (!account || !trader?.country) return refuse('FIAT_ACCOUNT_NOT_FOUND', 'Fiat account not found');
    if (account.erroredAt)
      return refuse('FIAT_ACCOUNT_ERRORED', 'A payout to this fiat account failed for a reason about the account; register another one', {
        details: { failureClass: account.errorClass, erroredAt: account.erroredAt.toISOString() },
      });
    return ok({
      fiatAccount: account.view,
      country: trader.country,
      kycName: kycNameOf(trader),
      destinationFingerprint: account.fingerprint,
    });
  }

  return { requirements, create, list, remove, destination };
}

export type FiatAccounts = ReturnType<typeof createFiatAccounts>;
