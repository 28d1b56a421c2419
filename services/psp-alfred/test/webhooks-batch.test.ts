import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { signatureHeader } from '@offramp/alfred-sandbox';
import { pspAlfredEvents } from '@offramp/contracts';
import { inTransaction } from '@offramp/kit';
import { testLogger } from '@offramp/kit/testing';
import { z } from 'zod';
import type { WebhookBody } from '../src/alfred/schemas.ts';
import { ingestPartnerEvent, type IngestOutcome } from '../src/webhooks/ingest.ts';
import { createWebhookIntake, ingestOfframpWebhooks, type WebhookItem } from '../src/webhooks/intake.ts';
import { startTestPspAlfred, webhookSecret, type TestPspAlfred } from './harness.ts';

let t: TestPspAlfred;
beforeAll(async () => {
  t = await startTestPspAlfred();
});
afterAll(async () => {
  await t.cleanup();
});

const tolerancePct = 2;

/**
 * The bytes Alfred sent for an event: for TRADE_COMPLETED not the parsed event's JSON (another key
 * order, a field the schema drops), so that both ways a batch stores the payload are compared.
 */
const rawOf = (event: WebhookBody) =>
  event.status === 'TRADE_COMPLETED'
    ? JSON.stringify({
        status: event.status,
        referenceId: event.referenceId,
        eventType: event.eventType,
        metadata: event.metadata,
        attempt: 1,
      })
    : JSON.stringify(event);

const one = (event: WebhookBody) =>
  inTransaction(t.db, (em) =>
    ingestPartnerEvent(em, event, { source: 'webhook', rawBody: rawOf(event), traceId: randomUUID(), tolerancePct }),
  );

const item = (event: WebhookBody): WebhookItem => ({ event, rawBody: rawOf(event), traceId: randomUUID() });

/**
 * One world of the comparison: its own orders and references under placeholder names (o1..o3 known,
 * k1 kept while unknown and known since, u1 kept and still unknown, u2 never seen), in the state
 * the earlier webhooks left them.
 */
async function world() {
  const names: Record<string, string> = { u1: randomUUID(), u2: randomUUID(), k1: randomUUID() };
  const withdrawals: Record<string, string> = {};
  for (const name of ['o1', 'o2', 'o3']) {
    const order = await t.knownOrder();
    names[name] = order.transactionId;
    withdrawals[name] = order.withdrawalId;
  }
  expect(await one({ eventType: 'OFFRAMP', referenceId: names.o1!, status: 'TRADE_COMPLETED', metadata: {} })).toBe('applied');
  expect(await one({ eventType: 'OFFRAMP', referenceId: names.u1!, status: 'TRADE_COMPLETED', metadata: {} })).toBe('unknown_reference');
  const failed = { eventType: 'OFFRAMP' as const, referenceId: names.k1!, status: 'FAILED', metadata: { failureReason: 'LIMIT' } };
  expect(await one(failed)).toBe('unknown_reference');
  // The order made known directly, its kept event left kept: a later copy applies it (being early never spends the key).
  withdrawals.k1 = (await t.knownOrder(names.k1)).withdrawalId;
  const events = (script: [string, string, Record<string, unknown> | null][]): WebhookBody[] =>
    script.map(([name, status, metadata]) => ({ eventType: 'OFFRAMP', referenceId: names[name]!, status, metadata }));
  /** A world's rows with its ids replaced by the placeholders, so two worlds compare equal. */
  const anonymise = (value: unknown) => {
    let text = JSON.stringify(value);
    for (const [name, id] of [...Object.entries(names), ...Object.entries(withdrawals).map(([n, id]) => [`w:${n}`, id] as const)])
      text = text.replaceAll(id, name);
    return JSON.parse(text) as unknown;
  };
  const references = Object.values(names);
  const list = (ids: string[]) => `{${ids.join(',')}}`;
  async function state() {
    const stored = await t.rows(
      z.object({
        reference_id: z.string(),
        status: z.string(),
        source: z.string(),
        outcome: z.string(),
        duplicates: z.number(),
        payload: z.unknown(),
        raw_body: z.string().nullable(),
      }),
      'select reference_id, status, source, outcome, duplicates, payload, raw_body from partner_events where reference_id = any(?::text[]) order by id',
      [list(references)],
    );
    const mirrors = await t.rows(
      z.object({
        transaction_id: z.string(),
        alfred_status: z.string().nullable(),
        failure_reason: z.string().nullable(),
        deposit_tx_hash: z.string().nullable(),
      }),
      'select transaction_id, alfred_status, failure_reason, deposit_tx_hash from offramps where transaction_id = any(?::text[])',
      [list(references)],
    );
    const outbox = await t.rows(
      z.object({ subject: z.string(), envelope: z.object({ payload: z.unknown(), correlationId: z.string() }) }),
      "select subject, envelope from outbox where envelope->>'correlationId' = any(?::text[]) order by seq",
      [list(Object.values(withdrawals))],
    );
    const discrepancies = await t.rows(
      z.object({ key: z.string(), kind: z.string(), transaction_id: z.string().nullable(), facts: z.unknown() }),
      'select key, kind, transaction_id, facts from discrepancies where transaction_id = any(?::text[]) order by key',
      [list(references)],
    );
    const named = anonymise({ mirrors, discrepancies }) as { mirrors: { transaction_id: string }[]; discrepancies: { key: string }[] };
    return {
      stored: anonymise(stored),
      mirrors: named.mirrors.sort((a, b) => a.transaction_id.localeCompare(b.transaction_id)),
      // In order within each withdrawal (what its consumers rely on); a batch writes them together, after the discrepancies it found.
      outbox: anonymise(Object.groupBy(outbox, (r) => r.envelope.correlationId)),
      discrepancies: named.discrepancies.sort((a, b) => a.key.localeCompare(b.key)),
    };
  }
  return { events, state };
}

const script: [string, string, Record<string, unknown> | null][] = [
  ['o1', 'ON_CHAIN_DEPOSIT_RECEIVED', { txHash: 'hash-o1' }],
  ['o1', 'TRADE_COMPLETED', {}],
  ['o2', 'TRADE_COMPLETED', { txHash: 'hash-o2' }],
  ['o2', 'TRADE_COMPLETED', { txHash: 'hash-o2' }],
  ['o2', 'FIAT_TRANSFER_COMPLETED', { fromAmount: '50.000000', toAmount: '800.00', toCurrency: 'MXN' }],
  ['o2', 'FAILED', { failureReason: 'BANK_REJECTED' }],
  ['k1', 'FAILED', { failureReason: 'LIMIT' }],
  ['k1', 'FAILED', { failureReason: 'LIMIT' }],
  ['u1', 'TRADE_COMPLETED', {}],
  ['u2', 'FAILED', null],
  ['u2', 'FAILED', null],
  ['o3', 'NOT_A_STATUS', {}],
  ['o3', 'FIAT_TRANSFER_INITIATED', { fromAmount: '1.000000' }],
  ['o3', 'FIAT_TRANSFER_COMPLETED', { fromAmount: '1.000000' }],
];

describe('OFFRAMP webhooks stored as a batch', () => {
  it('when a batch mixes new events, copies in and before it, kept and unknown references, an unknown status and a disagreeing amount, then every outcome and every row is what one-by-one storage gives', async () => {
    const batched = await world();
    const alone = await world();
    const batchOutcomes = await inTransaction(t.db, (em) => ingestOfframpWebhooks(em, batched.events(script).map(item), tolerancePct));
    const aloneOutcomes: IngestOutcome[] = [];
    for (const event of alone.events(script)) aloneOutcomes.push(await one(event));

    expect(aloneOutcomes).toEqual([
      'applied',
      'duplicate',
      'applied',
      'duplicate',
      'applied',
      'applied',
      'applied',
      'duplicate',
      'duplicate',
      'unknown_reference',
      'duplicate',
      'ignored',
      'applied',
      'applied',
    ]);
    expect(batchOutcomes).toEqual(aloneOutcomes);
    expect(await batched.state()).toEqual(await alone.state());
  });

  it('when many copies of several statuses arrive at once over HTTP, then each status is stored and published once and every copy is counted', async () => {
    const orders = [await t.knownOrder(), await t.knownOrder()];
    const statuses = ['ON_CHAIN_DEPOSIT_RECEIVED', 'TRADE_COMPLETED', 'FIAT_TRANSFER_INITIATED', 'FIAT_TRANSFER_COMPLETED'];
    const bodies = orders.flatMap((o) =>
      statuses.map((status) => JSON.stringify({ referenceId: o.transactionId, eventType: 'OFFRAMP', status, metadata: {} })),
    );
    const copies = 5;
    const answers = await Promise.all(
      bodies.flatMap((body) =>
        Array.from({ length: copies }, () =>
          t.app.http.app.inject({
            method: 'POST',
            url: '/psp/alfred/webhook',
            headers: {
              'content-type': 'application/json',
              signature: signatureHeader(webhookSecret, body, Math.floor(Date.now() / 1000), 'dot'),
            },
            payload: body,
          }),
        ),
      ),
    );
    expect(answers.every((a) => a.statusCode === 200)).toBe(true);
    const outcomes = answers.map((a) => (a.json() as { data: { outcome: string } }).data.outcome);
    expect(outcomes.filter((o) => o === 'applied')).toHaveLength(bodies.length);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(bodies.length * (copies - 1));
    for (const o of orders) {
      const stored = await t.rows(
        z.object({ status: z.string(), outcome: z.string(), duplicates: z.number() }),
        'select status, outcome, duplicates from partner_events where reference_id = ? order by status',
        [o.transactionId],
      );
      expect(stored).toEqual([...statuses].sort().map((status) => ({ status, outcome: 'applied', duplicates: copies - 1 })));
      const published = (await t.outboxEvents(pspAlfredEvents.offrampStatusChanged.subject)).filter(
        (e) => e.transactionId === o.transactionId,
      );
      expect(published.map((e) => e.status).sort()).toEqual([...statuses].sort());
      const [mirror] = await t.rows(z.object({ alfred_status: z.string() }), 'select alfred_status from offramps where withdrawal_id = ?', [
        o.withdrawalId,
      ]);
      expect(mirror).toEqual({ alfred_status: 'FIAT_TRANSFER_COMPLETED' });
    }
  });

  it('when one webhook of a batch cannot be stored, then the others are stored one by one and only that one fails', async () => {
    const orders = [await t.knownOrder(), await t.knownOrder(), await t.knownOrder()];
    const intake = createWebhookIntake({ db: t.db, log: testLogger('intake'), tolerancePct, committed: () => t.app.relay.wake() });
    // A NUL character is valid JSON but no Postgres jsonb or text can hold it.
    const unstorable: WebhookBody = {
      eventType: 'OFFRAMP',
      referenceId: randomUUID(),
      status: 'TRADE_COMPLETED',
      metadata: { note: '\u0000' },
    };
    const submitted = [
      ...orders.map((o) =>
        intake.submit(item({ eventType: 'OFFRAMP', referenceId: o.transactionId, status: 'TRADE_COMPLETED', metadata: {} })),
      ),
      intake.submit(item(unstorable)),
    ];
    const settled = await Promise.allSettled(submitted);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    expect(settled.slice(0, 3).map((s) => (s as PromiseFulfilledResult<IngestOutcome>).value)).toEqual(['applied', 'applied', 'applied']);
    const outcomeOf = (referenceId: string) =>
      t.rows(z.object({ outcome: z.string() }), 'select outcome from partner_events where reference_id = ?', [referenceId]);
    for (const o of orders) expect(await outcomeOf(o.transactionId)).toEqual([{ outcome: 'applied' }]);
    expect(await outcomeOf(unstorable.referenceId)).toEqual([]);
  });
});
