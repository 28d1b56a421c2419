import { describe, expect, it } from 'vitest';
import { paymentRoutes, withdrawalStatuses, type WithdrawalStatus } from '@offramp/contracts';
import { payoutSlas } from '../src/sweeper/sweeper.ts';
import { effectsOf, isLegal } from '../src/withdrawals/state-machine.ts';

const legal: [WithdrawalStatus, WithdrawalStatus][] = [
  ['pending', 'approved'],
  ['pending', 'in_review'],
  ['pending', 'rejected'],
  ['in_review', 'approved'],
  ['in_review', 'rejected'],
  ['approved', 'processing'],
  ['approved', 'rejected'],
  ['processing', 'completed'],
  ['processing', 'rejected'],
];

describe('withdrawal state machine', () => {
  it('when every pair of statuses is checked, then exactly the edges of the diagram are legal', () => {
    for (const from of withdrawalStatuses) {
      for (const to of withdrawalStatuses) {
        expect(isLegal(from, to), `${from} -> ${to}`).toBe(legal.some(([f, t]) => f === from && t === to));
      }
    }
  });

  it('when a status is entered, then approved sends the offramp, completed posts the hold and rejected voids it', () => {
    expect(effectsOf('approved')).toEqual(['create_offramp']);
    expect(effectsOf('completed')).toEqual(['post_hold']);
    expect(effectsOf('rejected')).toEqual(['void_hold']);
    for (const s of ['pending', 'in_review', 'processing'] as const) expect(effectsOf(s)).toEqual([]);
  });
});

describe('payout SLA per rail', () => {
  it('when PAYOUT_SLA_MS_BY_RAIL names rails, then their routes get that SLA and every other route PAYOUT_SLA_MS', () => {
    const groups = payoutSlas({ PAYOUT_SLA_MS: 3_600_000, PAYOUT_SLA_MS_BY_RAIL: 'SPEI=1800000,PIX=600000' });
    const of = (routeId: string) => groups.find((g) => g.routeIds.includes(routeId))?.slaMs;
    expect([of('MX_SPEI'), of('BR_PIX'), of('AR_COELSA'), of('DO_ACH_DOM')]).toEqual([1_800_000, 600_000, 3_600_000, 3_600_000]);
    expect(groups.flatMap((g) => g.routeIds).sort()).toEqual(paymentRoutes.map((r) => r.id).sort());
    expect(payoutSlas({ PAYOUT_SLA_MS: 5, PAYOUT_SLA_MS_BY_RAIL: '' })).toEqual([{ slaMs: 5, routeIds: paymentRoutes.map((r) => r.id) }]);
  });
});
