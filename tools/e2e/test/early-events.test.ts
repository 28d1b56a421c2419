import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@offramp/kit/testing';
import { startSystem, type System } from './system.ts';
import {
  addAccount,
  balance,
  countries,
  minusUsdt,
  newTrader,
  onboard,
  openSession,
  settledBalance,
  waitForStatus,
  withdrawal,
} from './flows.ts';

type Offramp = { transactionId: string; memo?: string | null; status: string };
type Delivery = { state: string; body: { status: string } };

/**
 * A gate psp-alfred runs once, for the next order Alfred answers, between that answer and the store
 * of its transaction id (the tests of this file run one withdrawal at a time).
 */
let nextGate: ((withdrawalId: string, transactionId: string) => Promise<void>) | null = null;

let sys: System;
beforeAll(async () => {
  sys = await startSystem({
    pspOfframpHooks: {
      afterOfframpAnswer: async (withdrawalId, transactionId) => {
        const gate = nextGate;
        nextGate = null;
        await gate?.(withdrawalId, transactionId);
      },
    },
  });
}, 60_000);
afterAll(async () => sys?.cleanup());

async function offrampsFor(withdrawalId: string): Promise<Offramp[]> {
  const all = (await sys.emu('GET', '/offramps'))!.offramps as Offramp[];
  return all.filter((o) => o.memo === withdrawalId);
}

/** Alfred walks the order to its end; returns once every webhook of the walk was answered 2xx by psp-alfred. */
async function walkAtAlfred(transactionId: string, outcome: 'success' | 'failure') {
  const walked = await sys.emu('POST', `/offramps/${transactionId}/walk`, {
    outcome,
    ...(outcome === 'failure' ? { failureReason: 'BANK_REJECTED' } : {}),
  });
  const steps = walked!.steps as string[];
  await eventually(`the webhooks of ${transactionId} delivered`, async () => {
    const { deliveries } = (await sys.emu('GET', `/webhooks?referenceId=${transactionId}&eventType=OFFRAMP`)) as { deliveries: Delivery[] };
    return deliveries.length === steps.length && deliveries.every((d) => d.state === 'delivered') ? deliveries : undefined;
  });
  return steps;
}

/** A funded trader with a bank account and an open session; the session's own quote goes through before any fault. */
async function sessionFor(c = countries.BR) {
  const trader = newTrader();
  const accountId = await addAccount(sys, trader, c, await onboard(sys, trader, c.country));
  const before = await balance(sys, trader);
  const session = await openSession(sys, trader, c, accountId);
  expect(session.status, JSON.stringify(session.body)).toBe(201);
  return { trader, before, sessionId: session.body!.data.session_id as string };
}

async function initiate(trader: string, sessionId: string) {
  const r = await sys.http('POST', '/psp/alfred/initiate-withdrawal', { trader, body: { session_id: sessionId } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return { withdrawalId: r.body!.data.withdrawal_id as string, debited: r.body!.data.debited.amount as string };
}

/** The withdrawal ended once, its money settled exactly, one order at Alfred, the ledger clean. */
async function endedOnce(
  trader: string,
  withdrawalId: string,
  status: 'completed' | 'rejected',
  expectedAvailable: string,
  transactionId: string,
) {
  const done = await waitForStatus(sys, trader, withdrawalId, status, 60_000);
  expect(await settledBalance(sys, trader)).toEqual({ available: expectedAvailable, held: '0.000000' });
  const final = await withdrawal(sys, trader, withdrawalId);
  const terminal = final.timeline.filter((t) => t.kind === 'transition' && (t.to === 'completed' || t.to === 'rejected'));
  expect(terminal).toEqual([expect.objectContaining({ from: 'processing', to: status, actor: 'alfred' })]);
  expect(final.psp_transaction_id).toBe(transactionId);
  expect(await offrampsFor(withdrawalId)).toEqual([expect.objectContaining({ transactionId })]);
  expect((await sys.ledgerCheck()).ok).toBe(true);
  return done;
}

describe('early partner events end to end: the withdrawal ends exactly once, whenever Alfred reports', () => {
  for (const [outcome, status] of [
    ['failure', 'rejected'],
    ['success', 'completed'],
  ] as const) {
    it(`when the answer to POST /offramp is lost and Alfred ${outcome === 'failure' ? 'fails' : 'pays out'} the order before psp-alfred stores its id, then the withdrawal is ${status} once, balances exact, one order`, async () => {
      const { trader, before, sessionId } = await sessionFor();
      // Every POST /offramp takes effect at Alfred, and its answer never arrives.
      await sys.emu('POST', '/faults', { mode: 'timeout', count: 1_000, delayMs: 2_000, pathPrefix: '/offramp', afterEffect: true });
      let released = false;
      try {
        const { withdrawalId, debited } = await initiate(trader, sessionId);
        const [order] = await eventually('the order at Alfred', async () => {
          const found = await offrampsFor(withdrawalId);
          return found.length > 0 ? found : undefined;
        });
        // Alfred finishes the order while psp-alfred still does not know its id: the webhooks land early.
        await walkAtAlfred(order!.transactionId, outcome);
        const waiting = await withdrawal(sys, trader, withdrawalId);
        expect(waiting.status).toBe('approved');
        expect(waiting.psp_transaction_id).toBeNull();

        await sys.emu('DELETE', '/faults');
        released = true;
        const expected = status === 'completed' ? minusUsdt(before.available, debited) : before.available;
        await endedOnce(trader, withdrawalId, status, expected, order!.transactionId);
      } finally {
        if (!released) await sys.emu('DELETE', '/faults');
      }
    }, 120_000);
  }

  for (const [outcome, status] of [
    ['failure', 'rejected'],
    ['success', 'completed'],
  ] as const) {
    it(`when Alfred's webhooks for a ${outcome} arrive between its answer to POST /offramp and the store of the id, then the withdrawal is ${status} once, balances exact`, async () => {
      const { trader, before, sessionId } = await sessionFor(countries.MX);
      let gated: { withdrawalId: string; transactionId: string } | null = null;
      nextGate = async (withdrawalId, transactionId) => {
        // Alfred's webhooks reach psp-alfred (and are answered) before it stores the order's id.
        await walkAtAlfred(transactionId, outcome);
        gated = { withdrawalId, transactionId };
      };
      try {
        const { withdrawalId, debited } = await initiate(trader, sessionId);
        const { transactionId, withdrawalId: gatedWithdrawal } = await eventually('the gate to run', async () => gated ?? undefined);
        expect(gatedWithdrawal).toBe(withdrawalId);
        const expected = status === 'completed' ? minusUsdt(before.available, debited) : before.available;
        await endedOnce(trader, withdrawalId, status, expected, transactionId);
      } finally {
        nextGate = null;
      }
    }, 120_000);
  }
});
