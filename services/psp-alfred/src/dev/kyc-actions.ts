import { ok, refuse, type ServiceResult } from '@offramp/contracts';
import { inTransaction, type Database, type OutboxRelay, type RpcContext } from '@offramp/kit';
import type { AlfredClient } from '../alfred/client.ts';
import { onUserPath, unexpectedRefusal } from '../alfred/user-path.ts';
import { generateIdentity } from '../traders/identity.ts';
import type { Provisioning } from '../traders/provisioning.ts';
import { findTrader, kycNameOf, savePlatformKyc, type KycStatus } from '../traders/traders.ts';
import { ingestPartnerEvent } from '../webhooks/ingest.ts';
import { maskNumber } from '../fiat-accounts/alfred-fields.ts';
import type { SandboxDriver } from './sandbox-driver.ts';
import { waitFor, type StoredSignal } from './wait.ts';

type Result = Promise<ServiceResult<Record<string, unknown>>>;

export interface DevDeps {
  db: Database;
  alfred: AlfredClient;
  /** Alfred's sandbox driver: only the QA actions move statuses at Alfred. */
  driver: SandboxDriver;
  /** The traders feature's customer provisioning, which the QA actions drive. */
  provisioning: Provisioning;
  relay: OutboxRelay;
  /** How long a dev action waits for Alfred's webhook before reading the status itself. */
  settleMs: number;
  /** Told when a webhook was stored, by reference: an offramp's wait for its webhook checks again then. */
  stored?: StoredSignal;
  /** The ingest path's amount tolerance (ALFRED_FIAT_TOLERANCE_PCT). */
  fiatTolerancePct: number;
}

/** What Alfred asks for when it wants an update, in the dev emulation of that answer. */
const updateRequiredMetadata = { fields: ['address', 'zipCode'], documents: ['PROOF_OF_ADDRESS'] };

/** QA actions on a trader's KYC. They act on the sandbox exactly as on Alfred's own sandbox. */
export function createKycActions(deps: DevDeps) {
  const { db, alfred, driver, provisioning } = deps;
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
    return ok({
      traderId,
      country,
      kycName: `${id.firstName} ${id.lastName}`,
      dateOfBirth: id.dateOfBirth,
      documentType: id.documentType,
      documentNumber: maskNumber(id.documentNumber),
    });
  }

  /** Creates the Alfred customer and submits KYC (pending at Alfred): the traders feature's provisioning. */
  async function provisionCustomer(traderId: string, ctx: RpcContext): Result {
    return provisioning.provisionCustomer(traderId, ctx.log);
  }

  /** The webhook usually lands within the wait; if not (delivery off), the status is read and applied the same way. */
  async function settleKyc(
    ctx: RpcContext,
    traderId: string,
    customerId: string,
    submissionId: string,
    status: KycStatus,
  ): Promise<'by_itself' | 'read_from_alfred'> {
    if (await waitFor(deps.settleMs, async () => (await trader(traderId))?.kycStatus === status)) return 'by_itself';
    const current = await alfred.getKycStatus(customerId, submissionId);
    if (!current.ok) return 'read_from_alfred';
    const event = {
      eventType: 'KYC' as const,
      referenceId: submissionId,
      status: current.data.status,
      metadata: current.data.metadata ?? null,
    };
    await inTransaction(db, (em) =>
      ingestPartnerEvent(em, event, { source: 'reconciliation', rawBody: null, traceId: ctx.traceId, tolerancePct: deps.fiatTolerancePct }),
    );
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
        const fresh = await provisioning.submitNewKyc(log, { ...t, identity: t.identity! }, customerId);
        if (!fresh.ok) return fresh;
        submissionId = fresh.data;
      }
      const metadata =
        status === 'UPDATE_REQUIRED' ? updateRequiredMetadata : status === 'FAILED' ? { reason: 'QA_SIMULATED_REJECTION' } : {};
      const driven = await driver.driveWebhook({ referenceId: submissionId, eventType: 'KYC', status, metadata });
      if (!driven.ok && driven.error.errorCode === 111302)
        return refuse('ALFRED_INCORRECT_STATUS_CHANGE', `KYC cannot move from ${t.kycStatus ?? 'its status'} to ${status}`);
      if (!driven.ok) return unexpectedRefusal(log, 'drive-kyc', driven.status, driven.error);
      const settled = await settleKyc(ctx, traderId, customerId, submissionId, status);
      const now = await trader(traderId);
      return ok({ customerId, submissionId, kycStatus: now?.kycStatus ?? null, settled, kycName: now ? kycNameOf(now) : null });
    });
  }

  return { seedKyc, provisionCustomer, driveKyc };
}
