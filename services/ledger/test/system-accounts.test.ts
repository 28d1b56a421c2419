import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '@offramp/kit';
import { ledgerRpc } from '@offramp/contracts';
import { z } from 'zod';
import { startTestLedger, type TestLedger } from './harness.ts';

const systemOwners = ['external:deposits', 'loss:partner-divergence', 'psp:alfred:clearing'];

describe('ledger system accounts', () => {
  let ledger: TestLedger;
  beforeAll(async () => {
    ledger = await startTestLedger();
  });
  afterAll(async () => ledger?.cleanup());

  const accounts = () =>
    ledger.rows(
      z.object({
        id: z.string(),
        owner: z.string(),
        currency: z.string(),
        allow_negative: z.boolean(),
        slots: z.number(),
        balance_slots: z.number(),
        negative_slots: z.number(),
      }),
      `select a.id::text as id, a.owner, a.currency, a.allow_negative, a.slots,
              count(b.slot)::int as balance_slots, count(b.slot) filter (where b.allow_negative)::int as negative_slots
       from accounts a left join balances b on b.account_id = a.id group by a.id order by a.owner`,
    );

  it('when a ledger is freshly migrated, then the system accounts exist in USDT, allowed negative, on 16 slots, at zero, and the check is clean', async () => {
    expect(await accounts()).toEqual(
      systemOwners.map((owner) => ({
        id: expect.any(String),
        owner,
        currency: 'USDT',
        allow_negative: true,
        slots: 16,
        balance_slots: 16,
        negative_slots: 16,
      })),
    );
    for (const owner of systemOwners) {
      const { balances } = await ledger.call(ledgerRpc.getBalances, { owner, currency: 'USDT' });
      expect(balances, owner).toEqual([
        { owner, currency: 'USDT', postedMinor: 0n, pendingDebitsMinor: 0n, pendingCreditsMinor: 0n, availableMinor: 0n },
      ]);
    }
    const check = await ledger.call(ledgerRpc.check, {});
    expect(check).toEqual({ ok: true, accountsChecked: 3, currencies: ['USDT'], mismatches: [] });
  });

  it('when a service opens a system account the migration made, then it exists with the same fields and nothing changes', async () => {
    const before = await accounts();
    const opened = await ledger.call(ledgerRpc.openAccount, { owner: 'psp:alfred:clearing', currency: 'USDT', allowNegative: true });
    expect(opened.outcome).toBe('exists');
    expect(await accounts()).toEqual(before);
  });

  it('when the migration runs again over accounts already in use, then it changes nothing', async () => {
    const trader = 'trader:system-accounts-rerun';
    await ledger.fund(trader, 700n);
    const before = await accounts();
    await ledger.db.em.fork().execute("delete from schema_migrations where name like '0002%'");
    expect(await migrate(ledger.db)).toEqual([expect.stringMatching(/^0002/)]);
    expect(await accounts()).toEqual(before);
    expect(await ledger.available(trader)).toBe(700n);
    expect((await ledger.call(ledgerRpc.getBalances, { owner: 'external:deposits', currency: 'USDT' })).balances[0]?.postedMinor).toBe(
      -700n,
    );
    expect((await ledger.call(ledgerRpc.check, {})).ok).toBe(true);
  });
});
