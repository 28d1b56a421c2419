import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  decimalAmount,
  decimalString,
  riskRpc,
  screeningKind,
  screeningVerdict,
  type RiskThresholds,
  type ScreeningEntry,
} from '@offramp/contracts';
import { sendData } from '@offramp/kit';
import { operation } from '../edge/openapi.ts';
import { unwrap, type Services } from '../edge/services.ts';
import { adminPendingApprovalAnswer } from './admin-approval-wire.ts';
import { requestApproval, type FourEyes } from './four-eyes.ts';
import { operatorOf } from './require-admin.ts';

const tag = 'admin';
const text = (max: number) => z.string().trim().min(1, 'must not be blank').max(max, `must be at most ${max} characters`);
/** USDT in minor units (6 decimals) as a string, as risk keeps them. */
const minor = z.string().regex(/^[1-9][0-9]{0,29}$/, 'must be a positive integer amount in minor units');
const count = z.number().int().positive().max(1_000_000);

const thresholdsAnswer = z.object({
  routes: z.record(z.string(), z.object({ currency: z.string(), min: decimalString, max: decimalString })),
  trader: z.object({ daily_amount_minor: minor, monthly_amount_minor: minor, daily_count: count, monthly_count: count }),
  travel_rule_threshold_minor: minor,
});
const thresholdsBody = z.strictObject({
  reason: text(400),
  routes: z.record(z.string(), z.strictObject({ min: decimalAmount.optional(), max: decimalAmount.optional() })).optional(),
  trader: z
    .strictObject({
      daily_amount_minor: minor.optional(),
      monthly_amount_minor: minor.optional(),
      daily_count: count.optional(),
      monthly_count: count.optional(),
    })
    .optional(),
  travel_rule_threshold_minor: minor.optional(),
});
const screeningEntryAnswer = z.object({
  kind: screeningKind,
  value: z.string(),
  verdict: screeningVerdict,
  note: z.string(),
  updated_by: z.string(),
  updated_at: z.iso.datetime({ offset: true }),
});
const screeningQuery = z.object({ kind: screeningKind.optional() });
const screeningAddBody = z.strictObject({ kind: screeningKind, value: text(500), verdict: screeningVerdict, note: text(800).optional() });
const screeningRemoveBody = z.strictObject({ kind: screeningKind, value: text(500) });

const thresholdsToWire = (t: RiskThresholds): z.output<typeof thresholdsAnswer> => ({
  routes: t.routes,
  trader: {
    daily_amount_minor: t.trader.dailyAmountMinor.toString(),
    monthly_amount_minor: t.trader.monthlyAmountMinor.toString(),
    daily_count: t.trader.dailyCount,
    monthly_count: t.trader.monthlyCount,
  },
  travel_rule_threshold_minor: t.travelRuleThresholdMinor.toString(),
});
const entryToWire = (e: ScreeningEntry) => ({
  kind: e.kind,
  value: e.value,
  verdict: e.verdict,
  note: e.note,
  updated_by: e.updatedBy,
  updated_at: e.updatedAt,
});

const thresholdsExample = {
  routes: { BR_PIX: { currency: 'BRL', min: '10', max: '50000' } },
  trader: { daily_amount_minor: '10000000000', monthly_amount_minor: '100000000000', daily_count: 20, monthly_count: 200 },
  travel_rule_threshold_minor: '1000000000',
};
const screeningExample = {
  kind: 'trader',
  value: 'trader-42',
  verdict: 'suspicious',
  note: 'chargeback pattern [four-eyes: requested by operator:op-1, confirmed by operator:op-2]',
  updated_by: 'operator:op-2',
  updated_at: '2030-01-01T00:06:00.000Z',
};

const pending = (what: string) => ({
  answer: adminPendingApprovalAnswer,
  description: `Four-eyes (FOUR_EYES=true, the default): ${what} is stored as a pending approval; nothing changes until a second operator confirms it (POST /api/admin/approvals/{id}/confirm)`,
});

/**
 * Risk settings operators change: the thresholds (route bounds, per-trader velocity limits, the
 * travel-rule amount) and the KYT screening list. Under four-eyes every change waits for a second
 * operator; without it, risk applies it at once and audits it with the operator.
 */
export function adminRiskRoutes(deps: { services: Services; fourEyes: FourEyes }) {
  const { services, fourEyes } = deps;
  return async (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/risk/thresholds',
      {
        schema: operation({
          operationId: 'adminGetRiskThresholds',
          summary: "Risk's thresholds: route bounds, trader velocity limits, the travel-rule amount",
          tag,
          access: 'admin',
          answer: thresholdsAnswer,
          examples: { answer: thresholdsExample },
        }),
      },
      async (request, reply) => sendData(request, reply, thresholdsToWire(await services.call(request, riskRpc.getThresholds, {}))),
    );

    app.put(
      '/risk/thresholds',
      {
        schema: operation({
          operationId: 'adminSetRiskThresholds',
          summary: 'Change risk thresholds (partial)',
          description:
            'Only the fields given change; USDT amounts in minor units. An unknown route, a bad precision or min > max: 400 VALIDATION_ERROR (when confirmed under four-eyes: the request fails with that code).',
          tag,
          access: 'admin',
          body: thresholdsBody,
          answer: thresholdsAnswer,
          pending: pending('a threshold change'),
          examples: { body: { reason: 'raise BR_PIX max', routes: { BR_PIX: { max: '60000' } } }, answer: thresholdsExample },
        }),
      },
      async (request, reply) => {
        const b = request.body;
        const change = {
          reason: b.reason,
          ...(b.routes && { routes: b.routes }),
          ...(b.trader && {
            trader: {
              ...(b.trader.daily_amount_minor && { dailyAmountMinor: BigInt(b.trader.daily_amount_minor) }),
              ...(b.trader.monthly_amount_minor && { monthlyAmountMinor: BigInt(b.trader.monthly_amount_minor) }),
              ...(b.trader.daily_count !== undefined && { dailyCount: b.trader.daily_count }),
              ...(b.trader.monthly_count !== undefined && { monthlyCount: b.trader.monthly_count }),
            },
          }),
          ...(b.travel_rule_threshold_minor && { travelRuleThresholdMinor: BigInt(b.travel_rule_threshold_minor) }),
        };
        if (fourEyes.enabled) return requestApproval(services, request, reply, { action: 'thresholds_set', change });
        const operatorId = `operator:${operatorOf(request).id}`;
        const set = unwrap(await services.call(request, riskRpc.setThresholds, { ...change, operatorId }));
        return sendData(request, reply, thresholdsToWire(set));
      },
    );

    app.get(
      '/risk/screening',
      {
        schema: operation({
          operationId: 'adminListScreening',
          summary: 'The KYT screening list (traders and destination fingerprints)',
          tag,
          access: 'admin',
          querystring: screeningQuery,
          answer: z.object({ entries: z.array(screeningEntryAnswer) }),
          examples: { answer: { entries: [screeningExample] } },
        }),
      },
      async (request, reply) => {
        const { kind } = request.query;
        const { entries } = await services.call(request, riskRpc.listScreeningEntries, { ...(kind && { kind }) });
        return sendData(request, reply, { entries: entries.map(entryToWire) });
      },
    );

    app.post(
      '/risk/screening',
      {
        schema: operation({
          operationId: 'adminAddScreening',
          summary: 'Add a screening entry, or replace the verdict and note of the same kind and value',
          tag,
          access: 'admin',
          body: screeningAddBody,
          answer: z.object({ entry: screeningEntryAnswer }),
          pending: pending('a screening change'),
          examples: {
            body: { kind: 'trader', value: 'trader-42', verdict: 'suspicious', note: 'chargeback pattern' },
            answer: { entry: screeningExample },
          },
        }),
      },
      async (request, reply) => {
        const { kind, value, verdict, note } = request.body;
        if (fourEyes.enabled)
          return requestApproval(services, request, reply, { action: 'screening_add', kind, value, verdict, ...(note && { note }) });
        const operatorId = `operator:${operatorOf(request).id}`;
        const { entry } = await services.call(request, riskRpc.addScreeningEntry, {
          kind,
          value,
          verdict,
          operatorId,
          ...(note && { note }),
        });
        return sendData(request, reply, { entry: entryToWire(entry) });
      },
    );

    app.post(
      '/risk/screening/remove',
      {
        schema: operation({
          operationId: 'adminRemoveScreening',
          summary: 'Remove the screening entry of that kind and value',
          description: '`removed: false` when there was none.',
          tag,
          access: 'admin',
          body: screeningRemoveBody,
          answer: z.object({ removed: z.boolean() }),
          pending: pending('a screening change'),
          examples: { body: { kind: 'trader', value: 'trader-42' }, answer: { removed: true } },
        }),
      },
      async (request, reply) => {
        const { kind, value } = request.body;
        if (fourEyes.enabled) return requestApproval(services, request, reply, { action: 'screening_remove', kind, value });
        const operatorId = `operator:${operatorOf(request).id}`;
        return sendData(request, reply, await services.call(request, riskRpc.removeScreeningEntry, { kind, value, operatorId }));
      },
    );
  };
}
