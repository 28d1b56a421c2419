import { describe, expect, it } from 'vitest';
import { withdrawalStatuses, type WithdrawalStatus } from '@offramp/contracts';
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
