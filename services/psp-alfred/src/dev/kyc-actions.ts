import { createHash } from 'node:crypto';
import { ok, refuse, type ServiceResult } from '@offramp/contracts';
import { inTransaction, type Database, type Logger, type OutboxRelay, type RpcContext } from '@offramp/kit';
import type { AlfredClient, KycSubmission } from '../alfred/client.ts';
import { onUserPath, unexpectedRefusal } from '../alfred/user-path.ts';
import { routesOf } from '../traders/eligibility.ts';
import { generateIdentity, type Identity } from '../traders/identity.ts';
import { findTrader, kycNameOf, markKycSubmitted, saveCustomer, saveKycSubmission, savePlatformKyc, type KycStatus, type Trader } from '../traders/traders.ts';
import { ingestPartnerEvent } from '../webhooks/ingest.ts';
import { maskNumber } from '../fiat-accounts/alfred-fields.ts';
import { waitFor } from './wait.ts';

type Result = Promise<ServiceResult<Record<string, unknown>>>;

export interface DevDeps {
  db: Database;
  alfred: AlfredClient;
  relay: OutboxRelay;
  emailDomain: string;
  /** How long a dev action waits for Alfred's webhook before reading the status itself. */
  settleMs: number;
  /** The ingest path's amount tolerance (ALFRED_FIAT_TOLERANCE_PCT). */
  fiatTolerancePct: number;
}

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

/** What Alfred asks for when it wants an update, in the dev emulation of that answer. */
const updateRequiredMetadata = { fields: ['address', 'zipCode'], documents: ['PROOF_OF_ADDRESS'] };

/** QA actions on a trader's KYC. They act on the sandbox exactly as on Alfred's own sandbox. */
export function createKycActions(deps: DevDeps) {
  const { db, alfred } = deps;
  const trader = (traderId: string) => findTrader(db.em.fork(), traderId);

  /** Platform KYC approved with a generated identity for the country; the same country again keeps it. */
  async function seedKyc(traderId: string, countryCode: string): Result {
    const country = countryCode.toUpperCase();
    if (!/^[A-Z]{2}$/.test(country)) return refuse('VALIDATION_ERROR', 'country must be an ISO 3166 alpha-2 code');
    const existing = await trader(traderId);
    let id = existing?.country === country ? existing.identity : null;
    if (!id) {
      id = generateIdentity(country);
      await inTransaction(db, (em) => savePlatformKyc(em, traderId, id!));
    }
    return ok({ traderId, country, kycName: `${id.firstName} ${id.lastName}`, dateOfBirth: id.dateOfBirth, documentType: id.documentType, documentNumber: maskNumber(id.documentNumber) });
  }

  async function ensureCustomer(log: Logger, t: Trader & { identity: Identity; country: string }): Promise<ServiceResult<string>> {
    if (t.customerId) return ok(t.customerId);
    const email = `t-${createHash('sha256').update(t.traderId).digest('hex').slice(0, 24)}@${deps.emailDomain}`;
    const created = await alfred.createCustomer({ email, type: 'INDIVIDUAL', country: t.country });
    // 111407: created by an earlier call whose answer was lost; Alfred names the customer.
    const customerId = created.ok ? created.data.customerId : created.error.errorCode === 111407 ? created.error.errorMetadata?.customerId : undefined;
    if (typeof customerId !== 'string') return created.ok ? refuse('INTERNAL', 'Internal error') : unexpectedRefusal(log, 'create-customer', created.status, created.error);
    await inTransaction(db, (em) => saveCustomer(em, t.traderId, email, customerId));
    return ok(customerId);
  }

  /** Opens a KYC submission from the platform identity and hands it in (Alfred: IN_REVIEW). */
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

  /** Creates the Alfred customer and submits KYC (pending at Alfred); repeated, it goes on from where it stopped. */
  async function provisionCustomer(traderId: string, ctx: RpcContext): Result {
    const { log } = ctx;
    const t = await trader(traderId);
    if (!t?.identity || !t.country) return refuse('USER_NOT_VERIFIED', 'Platform KYC is not approved');
    if (routesOf(t.country).length === 0) return refuse('ALFRED_NOT_AVAILABLE_FOR_COUNTRY', `Withdrawals are not available for ${t.country}`);
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
      const now = await trader(traderId);
      return ok({ customerId: customer.data, submissionId, kycStatus: now?.kycStatus ?? null });
    });
  }

  /** The webhook usually lands within the wait; if not (delivery off), the status is read and applied the same way. */
  async function settleKyc(ctx: RpcContext, traderId: string, customerId: string, submissionId: string, status: KycStatus): Promise<'by_itself' | 'read_from_alfred'> {
    if (await waitFor(deps.settleMs, async () => (await trader(traderId))?.kycStatus === status)) return 'by_itself';
    const current = await alfred.getKycStatus(customerId, submissionId);
    if (!current.ok) return 'read_from_alfred';
    const event = { eventType: 'KYC' as const, referenceId: submissionId, status: current.data.status, metadata: current.data.metadata ?? null };
    await inTransaction(db, (em) => ingestPartnerEvent(em, event, { source: 'reconciliation', rawBody: null, traceId: ctx.traceId, tolerancePct: deps.fiatTolerancePct }));
    deps.relay.wake();
    ctx.log.info({ submissionId }, 'kyc webhook did not arrive in time; status read from alfred');
    return 'read_from_alfred';
  }

  /**
   * Drives the trader's KYC at Alfred to `status` through Alfred's sandbox driver, which sends the
   * webhook back to us. A final KYC (COMPLETED, FAILED) cannot move, so a new submission is opened first.
   */
  async function driveKyc(traderId: string, status: 'COMPLETED' | 'FAILED' | 'UPDATE_REQUIRED', ctx: RpcContext): Result {
    const { log } = ctx;
    const t = await trader(traderId);
    if (!t?.identity) return refuse('USER_NOT_VERIFIED', 'Platform KYC is not approved');
    if (!t.customerId || !t.kycSubmissionId) return refuse('ALFRED_CUSTOMER_NOT_PROVISIONED', 'PSP customer is not provisioned');
    const customerId = t.customerId;
    return onUserPath(log, async () => {
      let submissionId = t.kycSubmissionId!;
      if ((t.kycStatus === 'COMPLETED' || t.kycStatus === 'FAILED') && t.kycStatus !== status) {
        const fresh = await submitNewKyc(log, { ...t, identity: t.identity! }, customerId);
        if (!fresh.ok) return fresh;
        submissionId = fresh.data;
      }
      const metadata = status === 'UPDATE_REQUIRED' ? updateRequiredMetadata : status === 'FAILED' ? { reason: 'QA_SIMULATED_REJECTION' } : {};
      const driven = await alfred.driveWebhook({ referenceId: submissionId, eventType: 'KYC', status, metadata });
      if (!driven.ok && driven.error.errorCode === 111302) return refuse('ALFRED_INCORRECT_STATUS_CHANGE', `KYC cannot move from ${t.kycStatus ?? 'its status'} to ${status}`);
      if (!driven.ok) return unexpectedRefusal(log, 'drive-kyc', driven.status, driven.error);
      const settled = await settleKyc(ctx, traderId, customerId, submissionId, status);
      const now = await trader(traderId);
      return ok({ customerId, submissionId, kycStatus: now?.kycStatus ?? null, settled, kycName: now ? kycNameOf(now) : null });
    });
  }

  return { seedKyc, provisionCustomer, driveKyc };
}
