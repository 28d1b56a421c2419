import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import {
  adminApproveBody,
  adminCompleteBody,
  adminProcessBody,
  adminRejectBody,
  adminStatusBody,
  adminWithdrawalAnswer,
  withdrawalIdParams,
  withdrawalOperatorRpc,
  type ApprovalAction,
  type ErrorCode,
  type ServiceResult,
  type WithdrawalView,
} from '@offramp/contracts';
import { sendData } from '@offramp/kit';
import { adminWithdrawalExample } from '../edge/examples.ts';
import { operation } from '../edge/openapi.ts';
import { unwrap, type Services } from '../edge/services.ts';
import { operatorOf } from './require-admin.ts';
import { adminWithdrawalToWire } from './admin-wire.ts';
import { adminPendingApprovalAnswer } from './admin-approval-wire.ts';
import { approveNeedsFourEyes, overrideNeedsFourEyes, rejectNeedsFourEyes, requestApproval, type FourEyes } from './four-eyes.ts';

/** The request of an operator action: the withdrawal, the operator (JWT sub) and the parsed body. */
interface Action<B> {
  withdrawalId: string;
  operatorId: string;
  body: B;
}

interface ActionDoc<S extends z.ZodType> {
  operationId: string;
  summary: string;
  description: string;
  body: S;
  bodyExample?: unknown;
  /** Refusals besides WITHDRAWAL_NOT_FOUND and ALFRED_INCORRECT_STATUS_CHANGE. */
  errors?: ErrorCode[];
  /** When four-eyes applies: the action stored as a pending approval (202), or null to run it now. */
  gate?: (request: FastifyRequest, a: Action<z.output<S>>) => Promise<ApprovalAction | null>;
  /** When the 202 is answered (OpenAPI). */
  gated?: string;
}

const approved = {
  ...adminWithdrawalExample,
  status: 'approved',
  approved_by: 'operator:op-1',
  approved_at: '2030-01-01T00:02:00.000Z',
  allowed_actions: ['reject', 'process', 'override'],
};

/**
 * Operator actions on one withdrawal, each through its sessions rpc with the operator id from the
 * JWT. The answer is the withdrawal after the action; an illegal transition is the service's 409
 * ALFRED_INCORRECT_STATUS_CHANGE (audited there as a refused entry), an unknown id 404.
 */
export function adminActionRoutes(deps: { services: Services; fourEyes: FourEyes }) {
  const { services, fourEyes } = deps;
  return async (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    const action = <S extends z.ZodType>(
      method: 'POST' | 'PUT',
      path: string,
      doc: ActionDoc<S>,
      run: (request: FastifyRequest, a: Action<z.output<S>>) => Promise<ServiceResult<WithdrawalView>>,
    ) =>
      app.route({
        method,
        url: `/withdrawals/:id/${path}`,
        schema: operation({
          operationId: doc.operationId,
          summary: doc.summary,
          description: doc.description,
          tag: 'admin',
          access: 'admin',
          params: withdrawalIdParams,
          body: doc.body,
          answer: adminWithdrawalAnswer,
          errors: ['WITHDRAWAL_NOT_FOUND', 'ALFRED_INCORRECT_STATUS_CHANGE', ...(doc.errors ?? [])],
          examples: { ...(doc.bodyExample !== undefined && { body: doc.bodyExample }), answer: approved },
          ...(doc.gated && {
            pending: {
              answer: adminPendingApprovalAnswer,
              description: `Four-eyes (FOUR_EYES=true, the default): ${doc.gated}, the action is stored as a pending approval; nothing changes until a second operator confirms it (POST /api/admin/approvals/{id}/confirm)`,
            },
          }),
        }),
        handler: async (request, reply) => {
          const a = { withdrawalId: request.params.id, operatorId: operatorOf(request).id, body: request.body as z.output<S> };
          const gated = doc.gate && (await doc.gate(request, a));
          if (gated) return requestApproval(services, request, reply, gated);
          const withdrawal = unwrap(await run(request, a));
          return sendData(request, reply, adminWithdrawalToWire(withdrawal));
        },
      });

    action(
      'POST',
      'approve',
      {
        operationId: 'adminApproveWithdrawal',
        summary: 'Approve a withdrawal in review',
        description: 'in_review -> approved; the pipeline continues. No body is needed; an optional `reason` goes to the audit timeline.',
        body: adminApproveBody,
        bodyExample: { reason: 'documents checked' },
        gated: 'when the withdrawal holds more than FOUR_EYES_ABOVE_USDT',
        gate: async (request, a) =>
          (await approveNeedsFourEyes(fourEyes, services, request, a.withdrawalId))
            ? { action: 'withdrawal_approve', withdrawalId: a.withdrawalId, ...(a.body?.reason && { reason: a.body.reason }) }
            : null,
      },
      (request, a) =>
        services.call(request, withdrawalOperatorRpc.approve, {
          withdrawalId: a.withdrawalId,
          operatorId: a.operatorId,
          ...(a.body?.reason && { reason: a.body.reason }),
        }),
    );

    action(
      'POST',
      'reject',
      {
        operationId: 'adminRejectWithdrawal',
        summary: 'Reject a withdrawal; the held funds are restored',
        description:
          'pending, in_review, approved or processing -> rejected. With an order at Alfred that is not FAILED (or cannot be read): 409 PARTNER_ORDER_LIVE, nothing changes.',
        body: adminRejectBody,
        bodyExample: { reason: 'Insufficient verification' },
        errors: ['PARTNER_ORDER_LIVE'],
        gated:
          'for a withdrawal past in_review (approved or processing) whose order at Alfred is not live or paid (those are refused at once: 409 PARTNER_ORDER_LIVE)',
        gate: async (request, a) =>
          (await rejectNeedsFourEyes(fourEyes, services, request, a.withdrawalId))
            ? { action: 'withdrawal_reject', withdrawalId: a.withdrawalId, reason: a.body.reason }
            : null,
      },
      (request, a) =>
        services.call(request, withdrawalOperatorRpc.reject, {
          withdrawalId: a.withdrawalId,
          operatorId: a.operatorId,
          reason: a.body.reason,
        }),
    );

    action(
      'POST',
      'process',
      {
        operationId: 'adminProcessWithdrawal',
        summary: 'Re-dispatch the PSP request of an approved withdrawal',
        description: 'No body is needed.',
        body: adminProcessBody,
      },
      (request, a) => services.call(request, withdrawalOperatorRpc.process, { withdrawalId: a.withdrawalId, operatorId: a.operatorId }),
    );

    action(
      'POST',
      'complete',
      {
        operationId: 'adminCompleteWithdrawal',
        summary: 'Complete a withdrawal the partner paid out',
        description:
          'processing -> completed, funds taken. Only when Alfred reports FIAT_TRANSFER_COMPLETED, or with `confirmed_out_of_band: true`; otherwise 409 PARTNER_ORDER_LIVE. Alfred reporting FAILED: 409 ALFRED_INCORRECT_STATUS_CHANGE.',
        body: adminCompleteBody,
        bodyExample: { reference: 'E2E-REF-1', notes: 'bank statement checked', confirmed_out_of_band: true },
        errors: ['PARTNER_ORDER_LIVE'],
        gated: 'with `confirmed_out_of_band: true`',
        gate: async (_request, a) =>
          fourEyes.enabled && a.body.confirmed_out_of_band === true
            ? {
                action: 'withdrawal_complete',
                withdrawalId: a.withdrawalId,
                reference: a.body.reference,
                ...(a.body.notes && { notes: a.body.notes }),
                confirmedOutOfBand: true,
              }
            : null,
      },
      (request, a) =>
        services.call(request, withdrawalOperatorRpc.complete, {
          withdrawalId: a.withdrawalId,
          operatorId: a.operatorId,
          reference: a.body.reference,
          ...(a.body.notes && { notes: a.body.notes }),
          ...(a.body.confirmed_out_of_band !== undefined && { confirmedOutOfBand: a.body.confirmed_out_of_band }),
        }),
    );

    action(
      'PUT',
      'status',
      {
        operationId: 'adminOverrideWithdrawalStatus',
        summary: 'Override the status along a legal transition',
        description:
          'With the same money effects and partner checks as the normal path (to `rejected` as reject, to `completed` as complete).',
        body: adminStatusBody,
        bodyExample: { status: 'rejected', reason: 'partner lost the order', reference: 'INC-7' },
        errors: ['PARTNER_ORDER_LIVE'],
        gated: 'always, except an override to rejected while the order at Alfred is live or paid (refused at once: 409 PARTNER_ORDER_LIVE)',
        gate: async (request, a) =>
          (await overrideNeedsFourEyes(fourEyes, services, request, a.withdrawalId, a.body.status))
            ? {
                action: 'withdrawal_override',
                withdrawalId: a.withdrawalId,
                status: a.body.status,
                reason: a.body.reason,
                ...(a.body.reference && { reference: a.body.reference }),
                ...(a.body.confirmed_out_of_band !== undefined && { confirmedOutOfBand: a.body.confirmed_out_of_band }),
              }
            : null,
      },
      (request, a) =>
        services.call(request, withdrawalOperatorRpc.overrideStatus, {
          withdrawalId: a.withdrawalId,
          operatorId: a.operatorId,
          status: a.body.status,
          reason: a.body.reason,
          ...(a.body.reference && { reference: a.body.reference }),
          ...(a.body.confirmed_out_of_band !== undefined && { confirmedOutOfBand: a.body.confirmed_out_of_band }),
        }),
    );
  };
}
