import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@offramp/kit';
import { readStream } from '@offramp/kit/testing';
import { envelopeOf, ledgerEvents, ledgerRpc } from '@offramp/contracts';
import { applyOperations, type LedgerOperation } from '../src/transfers/transfers.ts';
import { account as usdt, clearing, move, request, resolve, testCause } from './operations.ts';
import { startTestLedger, type TestLedger } from './harness.ts';

/** `ledger_apply` (migration 0003): a batch of operations in one statement. */
describe('ledger batch statement', () => {
  let ledger: TestLedger;
  beforeAll(async () => {
    ledger = await startTestLedger();
  });
  afterAll(async () => ledger?.cleanup());

  async function trader(amountMinor: bigint) {
    const owner = `trader:${newId()}`;
    await ledger.fund(owner, amountMinor);
    return owner;
  }

  const balance = async (owner: string) => (await ledger.call(ledgerRpc.getBalances, { owner, currency: 'USDT' })).balances[0]!;

  it('when one batch mixes ok, exists, insufficient, conflicting and refused requests, then one statement answers each as if applied one at a time in order, and stores the event of each that applied', async () => {
    const t = await trader(1_000n);
    // Before the batch: a pending hold P (100) and a stored transfer S (50); 850 available.
    const holdP = await ledger.call(ledgerRpc.placeHold, request(t, clearing, 100n));
    const s = request(t, clearing, 50n);
    expect((await ledger.call(ledgerRpc.transfer, s)).outcome).toBe('ok');
    expect(holdP.outcome).toBe('ok');
    const P = holdP.transfer!.id;

    const a = request(t, clearing, 500n);
    const b = request(t, clearing, 400n);
    const c = request(t, clearing, 300n);
    const d = request(t, clearing, 150n);
    const [postA, voidA, voidP, postP, voidD] = [newId(), newId(), newId(), newId(), newId()];
    const ops: [LedgerOperation, string][] = [
      [move('hold', a), 'ok'], // 350 available
      [move('hold', a), 'exists'], // its twin in the same batch
      [move('hold', b), 'insufficient_funds'],
      [move('hold', { ...a, amountMinor: 501n }), 'exists_with_different_fields'],
      [move('transfer', c), 'ok'], // 50 available
      [resolve('post', postA, a.id), 'ok'],
      [resolve('void', voidA, a.id), 'hold_already_posted'],
      [resolve('post', postA, a.id), 'exists'],
      [move('transfer', request(t, usdt('trader:nobody'), 1n)), 'account_not_found'],
      [resolve('post', newId(), newId()), 'hold_not_found'],
      [resolve('post', newId(), b.id), 'hold_not_found'], // the hold refused above
      [move('transfer', { ...request(t, clearing, 1n), credit: { owner: 'psp:alfred:clearing', currency: 'MXN' } }), 'currency_mismatch'],
      [move('transfer', { ...s, amountMinor: 51n }), 'exists_with_different_fields'],
      [move('transfer', s), 'exists'],
      [resolve('void', voidP, P), 'ok'], // 150 available
      [resolve('post', postP, P), 'hold_already_voided'],
      [move('hold', d), 'ok'], // 0 available
      [move('transfer', request(t, clearing, 1n)), 'insufficient_funds'],
      [resolve('void', voidD, d.id), 'ok'], // 150 available
      [move('hold', c), 'exists_with_different_fields'], // C is a transfer
      [resolve('post', newId(), c.id), 'hold_not_found'],
      [resolve('post', a.id, P), 'exists_with_different_fields'], // the id names hold A
    ];
    // One statement, one transaction of its own.
    const results = await applyOperations(
      ledger.db.em.fork(),
      ops.map(([op]) => op),
    );
    expect(results.map((r) => r.outcome)).toEqual(ops.map(([, outcome]) => outcome));

    const at = (i: number) => results[i]!.transfer;
    expect(at(0)).toMatchObject({ id: a.id, kind: 'hold', amountMinor: 500n, holdStatus: 'pending', metadata: a.metadata });
    expect(at(1)).toEqual(at(0));
    expect(at(2)).toBeNull();
    expect(at(3)).toMatchObject({ id: a.id, amountMinor: 500n });
    expect(at(5)).toMatchObject({
      id: postA,
      kind: 'post',
      holdId: a.id,
      amountMinor: 500n,
      holdStatus: null,
      debit: usdt(t),
      credit: clearing,
    });
    expect(at(6)).toEqual(at(5));
    expect(at(7)).toEqual(at(5));
    expect([at(8), at(9), at(10), at(11)]).toEqual([null, null, null, null]);
    expect(at(12)).toMatchObject({ id: s.id, kind: 'transfer', amountMinor: 50n });
    expect(at(15)).toMatchObject({ id: voidP, kind: 'void', holdId: P });
    expect(at(17)).toBeNull();
    expect(at(19)).toMatchObject({ id: c.id, kind: 'transfer' });
    expect(at(21)).toMatchObject({ id: a.id, kind: 'hold', holdStatus: 'posted' });

    // Spent: S 50, C 300, A 500 posted; P and D voided.
    expect(await balance(t)).toMatchObject({ postedMinor: 150n, pendingDebitsMinor: 0n, availableMinor: 150n });
    expect((await ledger.call(ledgerRpc.getTransfer, { id: a.id })).transfer?.holdStatus).toBe('posted');
    expect((await ledger.call(ledgerRpc.getTransfer, { id: b.id })).transfer).toBeNull();
    expect(await ledger.call(ledgerRpc.check, {})).toMatchObject({ ok: true, mismatches: [] });

    // Each applied operation's event, once, valid against its contract, caused as asked.
    await ledger.app.relay.flush();
    const applied = [
      [ledgerEvents.holdPlaced, a.id],
      [ledgerEvents.transferred, c.id],
      [ledgerEvents.holdPosted, postA],
      [ledgerEvents.holdVoided, voidP],
      [ledgerEvents.holdPlaced, d.id],
      [ledgerEvents.holdVoided, voidD],
    ] as const;
    const ids = new Set<string>([a.id, c.id, postA, voidP, d.id, voidD, b.id, voidA, postP]);
    for (const def of [ledgerEvents.holdPlaced, ledgerEvents.transferred, ledgerEvents.holdPosted, ledgerEvents.holdVoided]) {
      const events = (await readStream(ledger.messaging, 'EVENTS', def.subject))
        .map((m) => envelopeOf(def).parse(m.data))
        .filter((e) => ids.has(e.payload.id));
      expect(events.map((e) => e.payload.id).sort()).toEqual(
        applied
          .filter(([d]) => d === def)
          .map(([, id]) => id)
          .sort(),
      );
      for (const e of events)
        expect(e).toMatchObject({ correlationId: testCause.correlationId, causationId: null, traceId: testCause.traceId });
    }
  });

  it('when a statement of the batch fails in the middle of it, then the batch throws and nothing of it is applied; run again, it applies once', async () => {
    const t = await trader(1_000_000n);
    const before = await balance(t);
    await ledger.run(`create function fail_batch() returns trigger language plpgsql as $$
      begin raise exception 'injected fault in the middle of a batch'; end $$`);
    // After the batch stored its transfers and updated its balances, before its outbox rows.
    await ledger.run('create trigger fail_batch before insert on outbox for each statement execute function fail_batch()');
    const ops = Array.from({ length: 20 }, () => move('hold', request(t, clearing, 1_000n)));
    const failed = applyOperations(ledger.db.em.fork(), ops).finally(async () => {
      await ledger.run('drop trigger fail_batch on outbox');
      await ledger.run('drop function fail_batch()');
    });
    await expect(failed).rejects.toThrow(/injected fault/);
    expect(await balance(t)).toEqual(before);
    expect(await ledger.call(ledgerRpc.getTransfer, { id: ops[0]!.request.id })).toEqual({ transfer: null });
    expect(await ledger.call(ledgerRpc.check, {})).toMatchObject({ ok: true, mismatches: [] });

    const applied = await applyOperations(ledger.db.em.fork(), ops);
    expect(applied.every((r) => r.outcome === 'ok')).toBe(true);
    const again = await applyOperations(ledger.db.em.fork(), ops);
    expect(again.every((r) => r.outcome === 'exists')).toBe(true);
    expect((await balance(t)).pendingDebitsMinor).toBe(before.pendingDebitsMinor + 20n * 1_000n);
    expect(await ledger.call(ledgerRpc.check, {})).toMatchObject({ ok: true, mismatches: [] });
  });
});
