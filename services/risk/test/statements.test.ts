import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, testInfra } from '@offramp/kit/testing';
import { riskRpc } from '@offramp/contracts';
import { countingDatabaseUrl, type PgCounter, type StatementCounts } from '../../../tools/bench/src/pg-counter.ts';
import { withdrawalsConsumerName } from '../src/app.ts';
import { debited, startTestRisk, type TestRisk } from './harness.ts';

/**
 * What risk has Postgres parse for one withdrawal, counted by the benchmark's proxy in front of its
 * connections: the initiate check, the session check (rules, freeze and usage in one read) and the
 * decision on withdrawals.debited (its inbox transaction, the rules read with the trader's
 * try-lock, the guarded insert, the outbox row and its relay). One withdrawal at a time, after a
 * few that prepare the statements on the pool's connections. Figures are printed; the bound
 * catches a statement parsed again on every withdrawal.
 */
describe('statements risk has Postgres parse per withdrawal', () => {
  const n = 4;
  const warm = 4;
  let risk: TestRisk;
  let counter: PgCounter;
  beforeAll(async () => {
    const counted = await countingDatabaseUrl(testInfra().databaseUrl);
    counter = counted.counter;
    risk = await startTestRisk({}, { DATABASE_URL: counted.url });
  });
  afterAll(async () => {
    await risk?.cleanup();
    await counter?.close();
  });

  /** Checks and decides one withdrawal; waits for its decision on NATS and the consumer's ack. */
  const oneWithdrawal = async () => {
    const w = debited();
    expect(await risk.call(riskRpc.checkInitiate, { traderId: w.traderId, country: w.country })).toEqual({
      ok: true,
      data: { allowed: true },
    });
    const session = {
      traderId: w.traderId,
      country: w.country,
      paymentRouteId: w.paymentRouteId,
      fiatAmount: w.fiatAmount,
      fiatCurrency: w.fiatCurrency,
      cryptoAmountMinor: w.debitedMinor,
    };
    expect(await risk.call(riskRpc.checkSession, session)).toEqual({ ok: true, data: { allowed: true } });
    await risk.publishDebited(w);
    await eventually('the decision published and the event acked', async () => {
      if (!(await risk.decidedEvents()).some((e) => e.payload.withdrawalId === w.withdrawalId)) return false;
      const info = await risk.messaging.jsm.consumers.info(risk.messaging.streamName('EVENTS'), withdrawalsConsumerName);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    });
  };

  it('when a withdrawal is checked twice and decided, then Postgres parses only its begin and commit and the one statement without parameters', async () => {
    for (let i = 0; i < warm; i++) await oneWithdrawal();
    const all: StatementCounts[] = [];
    for (let i = 0; i < n; i++) {
      counter.reset();
      await oneWithdrawal();
      all.push(counter.counts());
    }
    const per = {
      statements: all.reduce((a, c) => a + c.statements, 0) / n,
      transactionControl: all.reduce((a, c) => a + c.transactionControl, 0) / n,
      parsed: all.reduce((a, c) => a + c.parsed, 0) / n,
      // A withdrawal whose work the pool gives a connection that has not run it yet prepares its
      // statements there; the others show what every later withdrawal costs.
      parsedWarm: Math.min(...all.map((c) => c.parsed)),
    };
    console.log('risk per withdrawal', JSON.stringify(per));
    expect(per.statements).toBeGreaterThan(0);
    // 12 statements, 4 of them begin/commit. Parsed: 8 while risk's statements went inlined, 5 once
    // bound on fixed texts: the begin and commit, and the freeze read of the initiate check, which
    // has no parameter (the kit sends a statement without parameters unnamed, so it is parsed).
    expect(per.parsedWarm).toBeLessThanOrEqual(per.transactionControl + 1);
  });
});
