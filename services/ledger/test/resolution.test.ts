import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@offramp/kit';
import { ledgerRpc } from '@offramp/contracts';
import { startTestLedger, usdt, type TestLedger } from './harness.ts';

describe('ledger hold resolution', () => {
  let ledger: TestLedger;
  beforeAll(async () => {
    ledger = await startTestLedger();
  });
  afterAll(async () => ledger?.cleanup());

  async function heldTrader() {
    const trader = await ledger.trader(1_000_000n);
    const hold = await ledger.call(ledgerRpc.placeHold, {
      id: newId(),
      debit: usdt(trader),
      credit: usdt('psp:alfred:clearing'),
      amountMinor: 300_000n,
      metadata: {},
    });
    expect(hold.outcome).toBe('ok');
    expect(await ledger.available(trader)).toBe(700_000n);
    return { trader, holdId: hold.transfer!.id };
  }

  const balance = async (owner: string) => (await ledger.call(ledgerRpc.getBalances, { owner, currency: 'USDT' })).balances[0]!;

  it('when a hold is posted, then the money leaves for good; posting again with the same id answers exists, with another id hold_already_posted', async () => {
    const { trader, holdId } = await heldTrader();
    const postId = newId();
    const posted = await ledger.call(ledgerRpc.postHold, { id: postId, holdId });
    expect(posted.outcome).toBe('ok');
    expect(posted.transfer).toMatchObject({ kind: 'post', holdId, amountMinor: 300_000n });
    expect(await balance(trader)).toMatchObject({ postedMinor: 700_000n, pendingDebitsMinor: 0n, availableMinor: 700_000n });
    expect((await ledger.call(ledgerRpc.postHold, { id: postId, holdId })).outcome).toBe('exists');
    expect((await ledger.call(ledgerRpc.postHold, { id: newId(), holdId })).outcome).toBe('hold_already_posted');
    expect((await ledger.call(ledgerRpc.voidHold, { id: newId(), holdId })).outcome).toBe('hold_already_posted');
    expect((await ledger.call(ledgerRpc.getTransfer, { id: holdId })).transfer?.holdStatus).toBe('posted');
    expect(await balance(trader)).toMatchObject({ postedMinor: 700_000n, availableMinor: 700_000n });
  });

  it('when a hold is voided, then the money returns; a later post answers hold_already_voided and moves nothing', async () => {
    const { trader, holdId } = await heldTrader();
    const voided = await ledger.call(ledgerRpc.voidHold, { id: newId(), holdId });
    expect(voided.outcome).toBe('ok');
    expect(await balance(trader)).toMatchObject({ postedMinor: 1_000_000n, pendingDebitsMinor: 0n, availableMinor: 1_000_000n });
    expect((await ledger.call(ledgerRpc.postHold, { id: newId(), holdId })).outcome).toBe('hold_already_voided');
    expect((await ledger.call(ledgerRpc.voidHold, { id: newId(), holdId })).outcome).toBe('hold_already_voided');
    expect((await ledger.call(ledgerRpc.getTransfer, { id: holdId })).transfer?.holdStatus).toBe('voided');
    expect(await balance(trader)).toMatchObject({ postedMinor: 1_000_000n, availableMinor: 1_000_000n });
  });

  it('when a post and a void race on one hold 20 times each, then exactly one wins and the balance reflects only it', async () => {
    const { trader, holdId } = await heldTrader();
    const attempts = Array.from({ length: 20 }, () => [
      ledger.call(ledgerRpc.postHold, { id: newId(), holdId }),
      ledger.call(ledgerRpc.voidHold, { id: newId(), holdId }),
    ]).flat();
    const results = await Promise.all(attempts);
    const winners = results.filter((r) => r.outcome === 'ok');
    expect(winners).toHaveLength(1);
    const won = winners[0]!.transfer!.kind;
    const loserCode = won === 'post' ? 'hold_already_posted' : 'hold_already_voided';
    expect(results.filter((r) => r.outcome === loserCode)).toHaveLength(39);
    expect((await balance(trader)).postedMinor).toBe(won === 'post' ? 700_000n : 1_000_000n);
    expect((await ledger.call(ledgerRpc.check, {})).ok).toBe(true);
  });

  it('when a hold id is unknown or names a plain transfer, then hold_not_found', async () => {
    const { trader } = await heldTrader();
    expect((await ledger.call(ledgerRpc.postHold, { id: newId(), holdId: newId() })).outcome).toBe('hold_not_found');
    const plain = await ledger.call(ledgerRpc.transfer, {
      id: newId(),
      debit: usdt(trader),
      credit: usdt('psp:alfred:clearing'),
      amountMinor: 1n,
      metadata: {},
    });
    expect((await ledger.call(ledgerRpc.voidHold, { id: newId(), holdId: plain.transfer!.id })).outcome).toBe('hold_not_found');
  });

  it('when someone tries to edit a transfer row in the database, then Postgres refuses: transfers are immutable', async () => {
    const { holdId } = await heldTrader();
    await expect(ledger.db.em.fork().execute('update transfers set amount = 1 where id = ?', [holdId])).rejects.toThrow(/immutable/);
    await expect(ledger.db.em.fork().execute('delete from transfers where id = ?', [holdId])).rejects.toThrow(/immutable/);
  });
});
