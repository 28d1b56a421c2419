import { describe, expect, it } from 'vitest';
import { withdrawalStatuses, type WithdrawalStatus } from '@offramp/contracts';
import { effectsOf, isLegal, plan, type Trigger } from '../src/withdrawals/state-machine.ts';

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

  it('when the pipeline triggers arrive in order, then each takes its one step', () => {
    const cases: [WithdrawalStatus, Trigger, WithdrawalStatus][] = [
      ['pending', { kind: 'risk_decided', decision: 'approve' }, 'approved'],
      ['pending', { kind: 'risk_decided', decision: 'review' }, 'in_review'],
      ['pending', { kind: 'risk_decided', decision: 'reject' }, 'rejected'],
      ['in_review', { kind: 'operator_approve' }, 'approved'],
      ['in_review', { kind: 'operator_reject' }, 'rejected'],
      ['approved', { kind: 'offramp_created' }, 'processing'],
      ['approved', { kind: 'offramp_refused' }, 'rejected'],
      ['processing', { kind: 'offramp_completed' }, 'completed'],
      ['processing', { kind: 'offramp_failed' }, 'rejected'],
      ['processing', { kind: 'operator_complete' }, 'completed'],
    ];
    for (const [from, trigger, to] of cases) {
      expect(plan(from, trigger), `${from} + ${trigger.kind}`).toEqual({ ok: true, steps: [{ from, to, effects: effectsOf(to) }] });
    }
  });

  it('when a terminal Alfred status overtakes offramp-created, then the offramp is implied and the withdrawal still ends once', () => {
    expect(plan('approved', { kind: 'offramp_completed' })).toEqual({
      ok: true,
      steps: [
        { from: 'approved', to: 'processing', effects: [] },
        { from: 'processing', to: 'completed', effects: ['post_hold'] },
      ],
    });
    expect(plan('approved', { kind: 'offramp_failed' })).toEqual({
      ok: true,
      steps: [
        { from: 'approved', to: 'processing', effects: [] },
        { from: 'processing', to: 'rejected', effects: ['void_hold'] },
      ],
    });
  });

  it('when a transition is not in the diagram, then it is refused with ALFRED_INCORRECT_STATUS_CHANGE', () => {
    const refused: [WithdrawalStatus, Trigger, WithdrawalStatus][] = [
      ['completed', { kind: 'offramp_failed' }, 'rejected'],
      ['completed', { kind: 'offramp_completed' }, 'completed'],
      ['completed', { kind: 'operator_approve' }, 'approved'],
      ['rejected', { kind: 'offramp_completed' }, 'completed'],
      ['pending', { kind: 'operator_approve' }, 'approved'],
      ['pending', { kind: 'offramp_completed' }, 'completed'],
      ['in_review', { kind: 'risk_decided', decision: 'approve' }, 'approved'],
      ['approved', { kind: 'risk_decided', decision: 'reject' }, 'rejected'],
      ['processing', { kind: 'offramp_refused' }, 'rejected'],
      ['processing', { kind: 'offramp_created' }, 'processing'],
      ['approved', { kind: 'operator_complete' }, 'completed'],
      ['completed', { kind: 'operator_override', to: 'rejected' }, 'rejected'],
      ['pending', { kind: 'operator_override', to: 'completed' }, 'completed'],
    ];
    for (const [from, trigger, to] of refused) {
      expect(plan(from, trigger), `${from} + ${trigger.kind}`).toEqual({ ok: false, code: 'ALFRED_INCORRECT_STATUS_CHANGE', from, to });
    }
  });

  it('when an operator overrides along a legal edge, then it takes it with the normal money effect', () => {
    for (const [from, to] of legal) {
      expect(plan(from, { kind: 'operator_override', to })).toEqual({ ok: true, steps: [{ from, to, effects: effectsOf(to) }] });
    }
  });
});
