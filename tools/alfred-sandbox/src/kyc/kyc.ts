import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { SandboxContext } from '../state.ts';
import { getCustomer, type Customer } from '../customers/customers.ts';
import { accept, refuse, type Outcome } from '../transport/refusals.ts';
import type { WebhookEventType } from '../webhooks/dispatcher.ts';

export const kycStatuses = ['CREATED', 'IN_REVIEW', 'COMPLETED', 'FAILED', 'UPDATE_REQUIRED'] as const;
export type KycStatus = (typeof kycStatuses)[number];

const text = z.string().trim().min(1).max(200);

/** The documented fields are required; anything else Alfred accepts (nationalities, email, …) is kept. */
export const kycSubmissionSchema = z.looseObject({
  firstName: text,
  lastName: text,
  dateOfBirth: z.iso.date(),
  country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 code'),
  city: text,
  state: text,
  zipCode: z.string().trim().min(1).max(20),
  address: text,
  dni: z.string().trim().min(1).max(40),
});

export interface KycSubmission {
  submissionId: string;
  customerId: string;
  fields: Record<string, unknown>;
  status: KycStatus;
  metadata: Record<string, unknown> | null;
  history: { status: KycStatus; at: string }[];
  createdAt: string;
  updatedAt: string;
}

const isTerminal = (status: KycStatus) => status === 'COMPLETED' || status === 'FAILED';

export const kycEventTypeOf = (customer: Customer): WebhookEventType => (customer.type === 'BUSINESS' ? 'KYB' : 'KYC');

/** Opens a submission in CREATED. Outcomes: ok, not_found. */
export function createSubmission(ctx: SandboxContext, customerId: string, fields: Record<string, unknown>): Outcome<KycSubmission> {
  const found = getCustomer(ctx, customerId);
  if (!found.ok) return found;
  const at = ctx.now().toISOString();
  const submission: KycSubmission = {
    submissionId: randomUUID(),
    customerId,
    fields,
    status: 'CREATED',
    metadata: null,
    history: [{ status: 'CREATED', at }],
    createdAt: at,
    updatedAt: at,
  };
  ctx.state.kycSubmissions.set(submission.submissionId, submission);
  found.value.kycSubmissionIds.push(submission.submissionId);
  found.value.updatedAt = at;
  ctx.state.customers.touch(customerId);
  return accept(submission);
}

/** Outcomes: ok, not_found (unknown submission, or one of another customer). */
export function getSubmission(ctx: SandboxContext, customerId: string, submissionId: string): Outcome<KycSubmission> {
  const submission = ctx.state.kycSubmissions.get(submissionId);
  if (!submission || submission.customerId !== customerId) return refuse('not_found', undefined, 'KYC submission not found');
  return accept(submission);
}

/**
 * Moves a submission and delivers its webhook. The same status again re-delivers without a change;
 * COMPLETED and FAILED are final; nothing goes back to CREATED.
 * Outcomes: ok, invalid_status_change.
 */
export function moveSubmission(
  ctx: SandboxContext,
  submission: KycSubmission,
  status: KycStatus,
  opts: { metadata?: Record<string, unknown> | null; eventType: WebhookEventType },
): Outcome<{ submission: KycSubmission; changed: boolean }> {
  const changed = submission.status !== status;
  if (changed && (isTerminal(submission.status) || status === 'CREATED')) {
    return refuse('invalid_status_change', { from: submission.status, to: status });
  }
  if (changed) {
    const at = ctx.now().toISOString();
    submission.status = status;
    submission.updatedAt = at;
    submission.history.push({ status, at });
    if (opts.metadata) submission.metadata = { ...submission.metadata, ...opts.metadata };
    ctx.state.kycSubmissions.touch(submission.submissionId);
  }
  ctx.webhooks.send({ referenceId: submission.submissionId, eventType: opts.eventType, status, metadata: submission.metadata });
  return accept({ submission, changed });
}

/** The customer hands the submission in for review. Outcomes: ok, not_found, invalid_status_change. */
export function submitSubmission(ctx: SandboxContext, customerId: string, submissionId: string): Outcome<KycSubmission> {
  const found = getSubmission(ctx, customerId, submissionId);
  if (!found.ok) return found;
  if (found.value.status !== 'CREATED' && found.value.status !== 'UPDATE_REQUIRED') {
    return refuse('invalid_status_change', { from: found.value.status, to: 'IN_REVIEW' });
  }
  const customer = ctx.state.customers.get(customerId)!;
  const moved = moveSubmission(ctx, found.value, 'IN_REVIEW', { eventType: kycEventTypeOf(customer) });
  return moved.ok ? accept(moved.value.submission) : moved;
}

/**
 * Emulator control: drives the customer's latest submission, opening a placeholder one first when
 * the customer has none, so other services' tests can get a verified customer in one call.
 * Outcomes: ok, not_found, invalid_status_change.
 */
export function driveLatestSubmission(
  ctx: SandboxContext,
  customerId: string,
  status: KycStatus,
  metadata: Record<string, unknown> | null,
): Outcome<KycSubmission> {
  const found = getCustomer(ctx, customerId);
  if (!found.ok) return found;
  const latestId = found.value.kycSubmissionIds.at(-1);
  const latest = latestId ? ctx.state.kycSubmissions.get(latestId) : undefined;
  const submission = latest ?? valueOf(createSubmission(ctx, customerId, { sandboxPlaceholder: true }));
  const moved = moveSubmission(ctx, submission, status, { metadata, eventType: kycEventTypeOf(found.value) });
  return moved.ok ? accept(moved.value.submission) : moved;
}

function valueOf<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw new Error(`unexpected refusal ${outcome.refusal}`);
  return outcome.value;
}

/** The status answer of `GET …/kyc/{submissionId}/status`. */
export const submissionStatusView = (submission: KycSubmission) => ({
  submissionId: submission.submissionId,
  status: submission.status,
  createdAt: submission.createdAt,
  updatedAt: submission.updatedAt,
  ...(submission.metadata ? { metadata: submission.metadata } : {}),
});
