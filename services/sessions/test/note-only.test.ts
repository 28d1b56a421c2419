import { describe, expect, it } from 'vitest';
import { offrampStatus, withdrawalStatus } from '@offramp/contracts';
import { decide, isNoteOnly, type Decided, type WithdrawalEvent } from '../src/withdrawals/decide.ts';

/**
 * The saga records most of Alfred's intermediate statuses with one statement that checks
 * `isNoteOnly`'s conditions in SQL (transition.ts, noteReportedStatus) instead of deciding them.
 * That is only right if `decide` makes every such event nothing but that note: checked here over
 * every status, reference, set-aside order, reported status, source and policy.
 */
describe('isNoteOnly', () => {
  const references = [null, 'tx-1', 'tx-2'];
  const failedLists = [[], ['tx-1'], ['tx-0']];

  it('is true only when decide gives one note at the withdrawal status and nothing else', () => {
    let noteOnly = 0;
    let cases = 0;
    const missed: string[] = [];
    for (const status of withdrawalStatus.options)
      for (const pspTransactionId of references)
        for (const failedPspTransactionIds of failedLists)
          for (const reported of offrampStatus.options)
            for (const source of ['webhook', 'reconciliation'] as const)
              for (const redispatchMax of [0, 2]) {
                const w: Decided = {
                  id: '0190f7a2-0000-7000-8000-000000000001',
                  traderId: 'trader-1',
                  status,
                  debitedMinor: 10_000_000n,
                  fiatAmount: '50.00',
                  fiatCurrency: 'BRL',
                  pspTransactionId,
                  hasRiskDecision: status !== 'pending',
                  payoutRedispatches: failedPspTransactionIds.length,
                  failedPspTransactionIds,
                };
                const e: WithdrawalEvent = { kind: 'offramp_status', transactionId: 'tx-1', status: reported, failureReason: null, source };
                const d = decide(w, e, { redispatchMax });
                const bareNote =
                  d.outcome === 'apply' &&
                  d.steps.length === 0 &&
                  Object.keys(d.patch).length === 0 &&
                  d.effects.length === 0 &&
                  d.exceptions.length === 0 &&
                  d.timeline.length === 1 &&
                  d.timeline[0]!.kind === 'note' &&
                  d.timeline[0]!.from === status &&
                  d.timeline[0]!.to === status &&
                  d.timeline[0]!.actor === 'alfred' &&
                  d.timeline[0]!.reason === `Alfred status ${reported} (${source})`;
                cases++;
                if (isNoteOnly(w, e)) {
                  // Never wrong: what the one statement records is what decide would have.
                  expect({ w, e, bareNote }).toEqual({ w, e, bareNote: true });
                  noteOnly++;
                } else if (bareNote) missed.push(`${status} ${pspTransactionId ?? 'no reference'}`);
              }
    expect(cases).toBe(6 * 3 * 3 * 6 * 2 * 2);
    // Every note at processing, completed and rejected of the order the withdrawal names, from an order not set aside.
    expect(noteOnly).toBe(3 * 2 * 4 * 2 * 2);
    // The one bare note it leaves to the ordinary path (which decides it the same): a completed withdrawal without an order reference.
    expect(new Set(missed)).toEqual(new Set(['completed no reference']));
  });

  it('never holds for the other events about the order', () => {
    const w: Decided = {
      id: '0190f7a2-0000-7000-8000-000000000001',
      traderId: 'trader-1',
      status: 'processing',
      debitedMinor: 10_000_000n,
      fiatAmount: '50.00',
      fiatCurrency: 'BRL',
      pspTransactionId: 'tx-1',
      hasRiskDecision: true,
    };
    expect(isNoteOnly(w, { kind: 'offramp_created', transactionId: 'tx-1' })).toBe(false);
    expect(isNoteOnly(w, { kind: 'offramp_refused', partnerCode: null, message: 'no' })).toBe(false);
  });
});
