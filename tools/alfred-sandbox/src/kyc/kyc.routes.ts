import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SandboxContext } from '../state.ts';
import { parseOrRefuse } from '../transport/parse.ts';
import { valueOrThrow } from '../transport/refusals.ts';
import { createSubmission, getSubmission, kycSubmissionSchema, submissionStatusView, submitSubmission } from './kyc.ts';

const customerParams = z.object({ customerId: z.string().min(1).max(100) });
const submissionParams = customerParams.extend({ submissionId: z.string().min(1).max(100) });

/** KYC submissions: create, submit for review, read the status. */
export function kycRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  app.post('/customers/:customerId/kyc', async (request, reply) => {
    const { customerId } = parseOrRefuse(customerParams, request.params);
    const { kycSubmission } = parseOrRefuse(z.object({ kycSubmission: kycSubmissionSchema }), request.body);
    const submission = valueOrThrow(createSubmission(ctx, customerId, kycSubmission));
    return reply.code(201).send({ submissionId: submission.submissionId, status: submission.status, createdAt: submission.createdAt });
  });

  app.post('/customers/:customerId/kyc/:submissionId/submit', async (request) => {
    const { customerId, submissionId } = parseOrRefuse(submissionParams, request.params);
    const submission = valueOrThrow(submitSubmission(ctx, customerId, submissionId));
    return { submissionId: submission.submissionId, status: submission.status, updatedAt: submission.updatedAt };
  });

  app.get('/customers/:customerId/kyc/:submissionId/status', async (request) => {
    const { customerId, submissionId } = parseOrRefuse(submissionParams, request.params);
    return submissionStatusView(valueOrThrow(getSubmission(ctx, customerId, submissionId)));
  });
}
