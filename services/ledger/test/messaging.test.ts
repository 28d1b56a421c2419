import { afterEach, describe, expect, it } from 'vitest';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { connectMessaging, makeEnvelope, newId, startOutboxRelay } from '@offramp/kit';
import { eventually, readStream, testInfra, testLogger } from '@offramp/kit/testing';
import { ledgerCommands, ledgerEvents, ledgerRpc, type MessageDef } from '@offramp/contracts';
import { z } from 'zod';
import { startTestLedger, usdt, type TestLedger } from './harness.ts';

async function publishCommand<S extends z.ZodType>(ledger: TestLedger, def: MessageDef<S>, payload: z.output<S>) {
  const envelope = makeEnvelope(def, payload, { correlationId: 'w-test', traceId: newId() });
  await ledger.messaging.js.publish(ledger.messaging.wire(def.subject), JSON.stringify(envelope), { msgID: envelope.id });
  return envelope;
}

describe('ledger messaging guarantees', () => {
  let ledger: TestLedger | undefined;
  afterEach(async () => {
    await ledger?.cleanup();
    ledger = undefined;
  });

  it('when a command is redelivered by JetStream after a crash between commit and ack, then it has one effect', async () => {
    const settled: string[] = [];
    let crashes = 1;
    ledger = await startTestLedger({
      hooks: {
        consumer: {
          backoffMs: [100],
          afterCommit: () => {
            if (crashes-- > 0) throw new Error('simulated crash after commit, before ack');
          },
          onSettled: (r) => void settled.push(r),
        },
      },
    });
    const trader = await ledger.trader(1_000n);
    const holdId = newId();
    await publishCommand(ledger, ledgerCommands.placeHold, {
      id: holdId,
      debit: usdt(trader),
      credit: usdt('psp:alfred:clearing'),
      amountMinor: 600n,
      metadata: {},
    });

    await eventually('the redelivery', () => settled.includes('duplicate'));
    expect(settled).toEqual(['retry', 'duplicate']);
    const [balance] = (await ledger.call(ledgerRpc.getBalances, { owner: trader, currency: 'USDT' })).balances;
    expect(balance).toMatchObject({ pendingDebitsMinor: 600n, availableMinor: 400n });
    const inbox = await ledger.rows(
      z.object({ n: z.string() }),
      "select count(*)::text as n from inbox where consumer = 'ledger-commands'",
    );
    expect(inbox[0]!.n).toBe('1');
    await ledger.app.relay.flush();
    const placed = await readStream(ledger.messaging, 'EVENTS', ledgerEvents.holdPlaced.subject);
    expect(placed.filter((m) => (m.data as { payload: { id: string } }).payload.id === holdId)).toHaveLength(1);
  });

  it('when the same command arrives in two envelopes and a post command cannot apply, then one hold and one command-refused event', async () => {
    const settled: string[] = [];
    ledger = await startTestLedger({ hooks: { consumer: { onSettled: (r) => void settled.push(r) } } });
    const trader = await ledger.trader(1_000n);
    const hold = { id: newId(), debit: usdt(trader), credit: usdt('psp:alfred:clearing'), amountMinor: 700n, metadata: {} };
    await publishCommand(ledger, ledgerCommands.placeHold, hold);
    await publishCommand(ledger, ledgerCommands.placeHold, hold);
    const tooBig = await publishCommand(ledger, ledgerCommands.placeHold, { ...hold, id: newId(), amountMinor: 700n });
    await eventually('three settlements', () => settled.length === 3);
    expect(settled).toEqual(['handled', 'handled', 'handled']);
    expect(await ledger.available(trader)).toBe(300n);
    await ledger.app.relay.flush();
    const refused = await readStream(ledger.messaging, 'EVENTS', ledgerEvents.commandRefused.subject);
    expect(refused.map((m) => (m.data as { payload: unknown }).payload)).toEqual([
      { commandId: tooBig.id, commandType: 'ledger.place-hold', transferId: tooBig.payload.id, outcome: 'insufficient_funds' },
    ]);
  });

  it('when a command is not a valid message, then it goes to the dead-letter stream with the reason and changes nothing', async () => {
    const settled: string[] = [];
    ledger = await startTestLedger({ hooks: { consumer: { onSettled: (r) => void settled.push(r) } } });
    const h = natsHeaders();
    await ledger.messaging.js.publish(ledger.messaging.wire(ledgerCommands.postHold.subject), JSON.stringify({ hello: 'world' }), {
      msgID: newId(),
      headers: h,
    });
    await eventually('the dead letter', () => settled.includes('dead_letter'));
    const dead = await readStream(ledger.messaging, 'DEADLETTER', `dlq.${ledgerCommands.postHold.subject}`);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.data).toEqual({ hello: 'world' });
    const transfers = await ledger.rows(z.object({ n: z.string() }), 'select count(*)::text as n from transfers');
    expect(transfers[0]!.n).toBe('0');
  });

  it('when the relay is stopped between commit and publish, then after restart the event is published exactly once', async () => {
    ledger = await startTestLedger();
    const trader = `trader:${newId()}`;
    await ledger.fund(trader, 1_000n);
    await ledger.app.relay.flush();
    await ledger.app.relay.stop();
    const id = newId();
    expect(
      (
        await ledger.call(ledgerRpc.transfer, {
          id,
          debit: usdt(trader),
          credit: usdt('external:deposits'),
          amountMinor: 10n,
          metadata: {},
        })
      ).outcome,
    ).toBe('ok');
    const pending = await ledger.rows(z.object({ id: z.string() }), 'select id from outbox where sent_at is null');
    expect(pending).toHaveLength(1);
    expect(
      (await readStream(ledger.messaging, 'EVENTS', ledgerEvents.transferred.subject)).filter(
        (m) => (m.data as { payload: { id: string } }).payload.id === id,
      ),
    ).toHaveLength(0);

    await ledger.restart();
    await eventually(
      'the outbox to drain',
      async () => (await ledger!.db.em.fork().execute('select 1 from outbox where sent_at is null')).length === 0,
    );
    const events = (await readStream(ledger.messaging, 'EVENTS', ledgerEvents.transferred.subject)).filter(
      (m) => (m.data as { payload: { id: string } }).payload.id === id,
    );
    expect(events).toHaveLength(1);
    expect(events[0]!.id).toBe(pending[0]!.id);
  });

  it('when the relay crashes after publishing but before marking sent, then the re-publish is dropped by JetStream and the event exists once', async () => {
    let crashes = 1;
    ledger = await startTestLedger({
      hooks: {
        relay: {
          afterPublish: () => {
            if (crashes-- > 0) throw new Error('simulated crash after publish');
          },
        },
      },
    });
    const trader = `trader:${newId()}`;
    await ledger.fund(trader, 1_000n);
    await eventually(
      'the outbox to drain',
      async () => (await ledger!.db.em.fork().execute('select 1 from outbox where sent_at is null')).length === 0,
    );
    const rows = await ledger.rows(z.object({ id: z.string(), attempts: z.number() }), 'select id, attempts from outbox order by seq');
    const opened = await readStream(ledger.messaging, 'EVENTS', ledgerEvents.accountOpened.subject);
    const transferred = await readStream(ledger.messaging, 'EVENTS', ledgerEvents.transferred.subject);
    const published = [...opened, ...transferred].map((m) => m.id).sort();
    expect(published).toEqual(rows.map((r) => r.id).sort());
  });

  it('when NATS cannot be reached by the relay, then rows stay in the outbox and a later relay publishes each once', async () => {
    ledger = await startTestLedger();
    await ledger.app.relay.stop();
    const trader = `trader:${newId()}`;
    await ledger.fund(trader, 5n);
    const log = testLogger('relay');
    const dead = await connectMessaging({ url: testInfra().natsUrl, name: 'dead', namespace: ledger.messaging.namespace, log });
    await dead.nc.close();
    const broken = startOutboxRelay({ db: ledger.db, messaging: dead, log, pollMs: 10_000 });
    await expect(broken.flush()).rejects.toThrow(/publishes failed/);
    await broken.stop();
    const stuck = await ledger.rows(
      z.object({ id: z.string(), last_error: z.string().nullable() }),
      'select id, last_error from outbox where sent_at is null',
    );
    expect(stuck.length).toBeGreaterThan(0);
    expect(stuck.every((r) => r.last_error !== null)).toBe(true);

    const healthy = startOutboxRelay({ db: ledger.db, messaging: ledger.messaging, log, pollMs: 10_000 });
    expect(await healthy.flush()).toBe(stuck.length);
    await healthy.stop();
    const all = [
      ...(await readStream(ledger.messaging, 'EVENTS', ledgerEvents.accountOpened.subject)),
      ...(await readStream(ledger.messaging, 'EVENTS', ledgerEvents.transferred.subject)),
    ];
    expect(all.map((m) => m.id).sort()).toEqual(stuck.map((r) => r.id).sort());
  });
});
