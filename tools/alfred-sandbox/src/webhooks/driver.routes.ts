import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SandboxContext } from '../state.ts';
import { kycStatuses, moveSubmission } from '../kyc/kyc.ts';
import { moveOfframp } from '../offramps/offramp-moves.ts';
import { offrampStatuses } from '../offramps/offramp-status.ts';
import { getOfframp } from '../offramps/offramps.ts';
import { parseOrRefuse } from '../transport/parse.ts';
import { accept, refuse, valueOrThrow, type Outcome } from '../transport/refusals.ts';
import { webhookEventTypes, type WebhookEvent } from './dispatcher.ts';

const driverSchema = z.object({
  referenceId: z.string().min(1).max(100),
  eventType: z.enum(webhookEventTypes),
  status: z.string().min(1).max(40),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
});

/**
 * Moves the referenced KYC submission or offramp to the posted status and delivers its webhook.
 * Outcomes: ok, not_found (unknown reference; the sandbox has no onramps), invalid_status_change.
 */
function drive(ctx: SandboxContext, event: WebhookEvent): Outcome<null> {
  if (event.eventType === 'OFFRAMP') {
    const offramp = getOfframp(ctx, event.referenceId);
    if (!offramp.ok) return offramp;
    const status = offrampStatuses.find((s) => s === event.status);
    if (!status) return refuse('invalid_status_change', { from: offramp.value.status, to: event.status });
    const moved = moveOfframp(ctx, offramp.value, status, event.metadata);
    return moved.ok ? accept(null) : moved;
  }
  if (event.eventType === 'ONRAMP') return refuse('not_found', undefined, 'Onramp not found');
  const submission = ctx.state.kycSubmissions.get(event.referenceId);
  if (!submission) return refuse('not_found', undefined, 'KYC submission not found');
  const status = kycStatuses.find((s) => s === event.status);
  if (!status) return refuse('invalid_status_change', { from: submission.status, to: event.status });
  const moved = moveSubmission(ctx, submission, status, { metadata: event.metadata, eventType: event.eventType });
  return moved.ok ? accept(null) : moved;
}

/** `POST /webhooks`: the sandbox driver that exists on Alfred's real sandbox too. */
export function driverRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  app.post('/webhooks', async (request, reply) => {
    const body = parseOrRefuse(driverSchema, request.body);
    valueOrThrow(drive(ctx, { ...body, metadata: body.metadata ?? null }));
    return reply.code(201).send({ message: 'success' });
  });
}
