import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, testInfra } from '@offramp/kit/testing';
import { countingDatabaseUrl, type PgCounter } from '../../../tools/bench/src/pg-counter.ts';
import { withdrawalsConsumerName } from '../src/app.ts';
import { change, startTestNotifier, type TestNotifier } from './harness.ts';
import { startSmtpSink, type SmtpSink } from './smtp-sink.ts';

/**
 * What the notifier has Postgres parse for one notified status change, counted by the benchmark's
 * proxy in front of its connections: the inbox transaction recording the notification and its two
 * deliveries, then each channel's claim and outcome. The senders' poll is off (an hour), so only
 * the wake after the commit claims. One change at a time, after a few that prepare the statements
 * on the pool's connections. Figures are printed; the bound catches a statement parsed again on
 * every withdrawal.
 */
describe('statements the notifier has Postgres parse per status change', () => {
  const n = 4;
  const warm = 4;
  let notifier: TestNotifier;
  let sink: SmtpSink;
  let counter: PgCounter;
  let settled = 0;
  beforeAll(async () => {
    const counted = await countingDatabaseUrl(testInfra().databaseUrl);
    counter = counted.counter;
    sink = await startSmtpSink();
    notifier = await startTestNotifier({
      env: { DATABASE_URL: counted.url, SMTP_URL: sink.url, DELIVERY_POLL_MS: '3600000' },
      dispatch: { onSettled: () => void settled++ },
    });
  });
  afterAll(async () => {
    await notifier?.cleanup();
    await sink?.close();
    await counter?.close();
  });

  /** Publishes a change and waits until both its deliveries recorded their outcome and the consumer acked it. */
  const notify = async () => {
    const before = settled;
    await notifier.publishChange(change({ to: 'processing' }));
    await eventually('both deliveries settled and the event acked', async () => {
      if (settled < before + 2) return false;
      const info = await notifier.messaging.jsm.consumers.info(notifier.messaging.streamName('EVENTS'), withdrawalsConsumerName);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    });
  };

  it('when a status change is notified in-app and by e-mail, then Postgres parses no more than its begin and commit', async () => {
    for (let i = 0; i < warm; i++) await notify();
    const parsed: number[] = [];
    const statements: number[] = [];
    for (let i = 0; i < n; i++) {
      counter.reset();
      await notify();
      const c = counter.counts();
      parsed.push(c.parsed);
      statements.push(c.statements);
    }
    expect(sink.messages).toHaveLength(warm + n);
    const per = {
      statements: statements.reduce((a, b) => a + b, 0) / n,
      parsed: parsed.reduce((a, b) => a + b, 0) / n,
      // A change whose work the pool gives a connection that has not run it yet prepares its
      // statements there; the others show what every later withdrawal costs.
      parsedWarm: Math.min(...parsed),
    };
    console.log('notifier per status change', JSON.stringify(per));
    expect(per.statements).toBeGreaterThan(0);
    // 8 statements: begin, the inbox insert, the notification with its deliveries, commit, then a
    // claim and an outcome per channel. Parsed: 7 while the notifier's went inlined (or through the
    // ORM), 2 once bound on fixed texts: the begin and the commit.
    expect(per.parsedWarm).toBeLessThanOrEqual(2);
  });
});
