import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SandboxContext } from '../state.ts';
import { customerView, getCustomer } from '../customers/customers.ts';
import { driveLatestSubmission, kycStatuses, submissionStatusView } from '../kyc/kyc.ts';
import { walkOfframp } from '../offramps/offramp-moves.ts';
import { offrampStatuses } from '../offramps/offramp-status.ts';
import { getOfframp, offrampView } from '../offramps/offramps.ts';
import { parseOrRefuse } from '../transport/parse.ts';
import { valueOrThrow } from '../transport/refusals.ts';

const id = z.string().min(1).max(100);

const walkSchema = z.strictObject({
  outcome: z.enum(['success', 'failure']),
  failureReason: z.string().min(1).max(200).optional(),
  failAfter: z.enum(offrampStatuses).optional(),
});

const decimal = z.string().regex(/^(0|[1-9][0-9]*)(\.[0-9]+)?$/, 'must be a decimal string');
const amountsSchema = z
  .strictObject({ fromAmount: decimal.optional(), toAmount: decimal.optional() })
  .refine((a) => a.fromAmount !== undefined || a.toAmount !== undefined, 'fromAmount or toAmount');

/** Emulator-only: drive customers, KYC and offramps the way Alfred's back office would. */
export function emulatorDriveRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  app.put('/__emu/customers/:customerId', async (request) => {
    const { customerId } = parseOrRefuse(z.object({ customerId: id }), request.params);
    const { bridged } = parseOrRefuse(z.strictObject({ bridged: z.boolean() }), request.body);
    const customer = valueOrThrow(getCustomer(ctx, customerId));
    customer.bridged = bridged;
    ctx.state.customers.touch(customerId);
    return { ...customerView(ctx, customer), bridged: customer.bridged };
  });

  app.post('/__emu/kyc/:customerId', async (request) => {
    const { customerId } = parseOrRefuse(z.object({ customerId: id }), request.params);
    const body = parseOrRefuse(
      z.strictObject({ status: z.enum(kycStatuses), metadata: z.record(z.string(), z.unknown()).optional() }),
      request.body,
    );
    return submissionStatusView(valueOrThrow(driveLatestSubmission(ctx, customerId, body.status, body.metadata ?? null)));
  });

  app.post('/__emu/offramps/:transactionId/walk', async (request) => {
    const { transactionId } = parseOrRefuse(z.object({ transactionId: id }), request.params);
    const walk = parseOrRefuse(walkSchema, request.body);
    const offramp = valueOrThrow(getOfframp(ctx, transactionId));
    const walked = valueOrThrow(walkOfframp(ctx, offramp, walk));
    return { offramp: offrampView(walked.offramp), steps: walked.steps };
  });

  // Divergences for reconciliation tests: Alfred's books changed behind our back.
  app.patch('/__emu/offramps/:transactionId', async (request) => {
    const { transactionId } = parseOrRefuse(z.object({ transactionId: id }), request.params);
    const amounts = parseOrRefuse(amountsSchema, request.body);
    const offramp = valueOrThrow(getOfframp(ctx, transactionId));
    Object.assign(offramp, amounts, { updatedAt: ctx.now().toISOString() });
    ctx.state.offramps.touch(transactionId);
    return { offramp: offrampView(offramp) };
  });

  app.delete('/__emu/offramps/:transactionId', async (request, reply) => {
    const { transactionId } = parseOrRefuse(z.object({ transactionId: id }), request.params);
    valueOrThrow(getOfframp(ctx, transactionId));
    ctx.state.offramps.delete(transactionId);
    return reply.code(204).send();
  });

  app.get('/__emu/offramps', async () => ({
    offramps: [...ctx.state.offramps.values()].map((o) => ({ ...offrampView(o), history: o.history })),
  }));
}
