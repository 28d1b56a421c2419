import { createHash } from 'node:crypto';
import { ok, refuse, type ServiceResult } from '@offramp/contracts';
import { inTransaction, type Database, type Logger } from '@offramp/kit';
import type { AlfredClient, KycSubmission } from '../alfred/client.ts';
import { onUserPath, unexpectedRefusal } from '../alfred/user-path.ts';
import { routesOf } from './eligibility.ts';
import type { Identity } from './identity.ts';
import { findTrader, markKycSubmitted, saveCustomer, saveKycSubmission, type KycStatus, type Trader } from './traders.ts';

export interface ProvisioningDeps {
  db: Database;
  alfred: AlfredClient;
  /** Where the traders' Alfred customers get their e-mail addresses (DEV_EMAIL_DOMAIN). */
  emailDomain: string;
}

export type Provisioned = {
  customerId: string;
  submissionId: string;
  kycStatus: KycStatus | null;
};

/** Alfred's KYC submission, built from the identity the platform verified. */
const kycSubmissionOf = (id: Identity): KycSubmission => ({
  firstName: id.firstName,
  lastName: id.lastName,
  dateOfBirth: id.dateOfBirth,
  country: id.country,
  city: id.city,
  state: id.state,
  zipCode: id.zipCode,
  address: id.address,
  dni: id.documentNumber,
  documentType: id.documentType,
});

/**
 * A verified trader's customer at Alfred: the customer created (per country), the KYC submission
 * opened from the platform identity and handed in for review. Every step is recorded as soon as
 * Alfred answered it, so a repeat goes on from where the last one stopped.
 */
export function createProvisioning(deps: ProvisioningDeps) {
  const { db, alfred } = deps;

  async function ensureCustomer(log: Logger, t: Trader & { identity: Identity; country: string }): Promise<ServiceResult<string>> {
    if (t.customerId) return ok(t.customerId);
    const email = `t-${createHash('sha256').update(t.traderId).digest('hex').slice(0, 24)}@${deps.emailDomain}`;
    const created = await alfred.createCustomer({ email, type: 'INDIVIDUAL', country: t.country });
    // 111407: created by an earlier call whose answer was lost; Alfred names the customer.
    const customerId = created.ok
      ? created.data.customerId
      : created.error.errorCode === 111407
        ? created.error.errorMetadata?.customerId
        : undefined;
    if (typeof customerId !== 'string')
      return created.ok ? refuse('INTERNAL', 'Internal error') : unexpectedRefusal(log, 'create-customer', created.status, created.error);
    await inTransaction(db, (em) => saveCustomer(em, t.traderId, email, customerId));
    return ok(customerId);
  }

  /**
   * Opens a KYC submission from the platform identity and hands it in (Alfred: IN_REVIEW). Throws
   * AlfredUnavailable when Alfred gives no answer (callers run it on a user path).
   */
  async function submitNewKyc(log: Logger, t: Trader & { identity: Identity }, customerId: string): Promise<ServiceResult<string>> {
    const opened = await alfred.createKycSubmission(customerId, kycSubmissionOf(t.identity));
    if (!opened.ok) return unexpectedRefusal(log, 'create-kyc-submission', opened.status, opened.error);
    const submissionId = opened.data.submissionId;
    await inTransaction(db, (em) => saveKycSubmission(em, t.traderId, submissionId, 'CREATED'));
    const submitted = await alfred.submitKyc(customerId, submissionId);
    if (!submitted.ok) return unexpectedRefusal(log, 'submit-kyc', submitted.status, submitted.error);
    await inTransaction(db, (em) => markKycSubmitted(em, t.traderId, submissionId));
    return ok(submissionId);
  }

  /**
   * Creates the Alfred customer and submits KYC (pending at Alfred); repeated, it goes on from
   * where it stopped. Refusals: USER_NOT_VERIFIED (no platform KYC), ALFRED_NOT_AVAILABLE_FOR_COUNTRY,
   * PSP_UNAVAILABLE, INTERNAL (a refusal of Alfred's that our request should never get).
   */
  async function provisionCustomer(traderId: string, log: Logger): Promise<ServiceResult<Provisioned>> {
    const t = await findTrader(db.em.fork(), traderId);
    if (!t?.identity || !t.country) return refuse('USER_NOT_VERIFIED', 'Platform KYC is not approved');
    if (routesOf(t.country).length === 0)
      return refuse('ALFRED_NOT_AVAILABLE_FOR_COUNTRY', `Withdrawals are not available for ${t.country}`);
    const verified = { ...t, identity: t.identity, country: t.country };
    return onUserPath(log, async () => {
      const customer = await ensureCustomer(log, verified);
      if (!customer.ok) return customer;
      let submissionId = t.kycSubmissionId;
      if (!submissionId) {
        const submitted = await submitNewKyc(log, verified, customer.data);
        if (!submitted.ok) return submitted;
        submissionId = submitted.data;
      } else if (t.kycStatus === 'CREATED') {
        const submitted = await alfred.submitKyc(customer.data, submissionId);
        if (!submitted.ok) return unexpectedRefusal(log, 'submit-kyc', submitted.status, submitted.error);
        await inTransaction(db, (em) => markKycSubmitted(em, traderId, submissionId!));
      }
      const now = await findTrader(db.em.fork(), traderId);
      return ok({ customerId: customer.data, submissionId, kycStatus: now?.kycStatus ?? null });
    });
  }

  return { provisionCustomer, submitNewKyc };
}

export type Provisioning = ReturnType<typeof createProvisioning>;
