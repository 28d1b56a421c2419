import { z } from 'zod';
import { offrampStatus, pspAlfredEvents, type OfframpStatus } from '@offramp/contracts';
import {
  executeBound,
  inTransaction,
  isInfrastructureError,
  outboxInsert,
  outboxRow,
  outboxRowsParam,
  queryRowsBound,
  type Database,
  type EntityManager,
  type Logger,
  type OutboxRow,
} from '@offramp/kit';
import type { WebhookBody } from '../alfred/schemas.ts';
import { checkAmounts, reportAmountMismatch } from '../discrepancies/discrepancies.ts';
import { isNewerStatus } from '../offramps/offramp-status.ts';
import { findOfframpByTransaction } from '../offramps/offramps-store.ts';
import { carriesAmounts, ingestPartnerEvent, lockReferences, readOfframpReport, type IngestOutcome } from './ingest.ts';

/** One webhook to store: the event, the bytes Alfred signed, and the request's trace id. */
export interface WebhookItem {
  event: WebhookBody;
  rawBody: string;
  traceId: string;
}

/** A claimed or existing partner event of the batch, as it stands while the batch is decided. */
interface EventRow {
  id: string;
  outcome: string;
  /** The outcome this batch gives it (written once at the end), and the copies it counted. */
  newOutcome: IngestOutcome | null;
  duplicates: number;
}

/** The order a reference names, with what its events may move. */
interface KnownOrder {
  withdrawalId: string;
  alfredStatus: OfframpStatus | null;
  cryptoAmountMinor: bigint;
  fiatCurrency: string;
  fiatAmount: string;
  /** The mirror's move this batch makes, written once at the end. */
  move: { status: OfframpStatus; failureReason: string | null; txHash: string | null } | null;
}

const claimedRow = z.object({ id: z.string(), reference_id: z.string(), status: z.string() });
const batchRead = z.object({
  claimed: z.array(claimedRow),
  taken: z.array(claimedRow.extend({ outcome: z.string() })),
  known: z.array(
    z.object({
      withdrawal_id: z.string(),
      transaction_id: z.string(),
      alfred_status: offrampStatus.nullable(),
      crypto_amount_minor: z.coerce.bigint(),
      fiat_currency: z.string(),
      fiat_amount: z.string(),
    }),
  ),
});

const keyOf = (referenceId: string, status: string) => `${referenceId}\u0000${status}`;

/**
 * Stores a batch of OFFRAMP webhooks in the caller's transaction with a handful of statements,
 * whatever its size, and answers each webhook's outcome exactly as `ingestPartnerEvent` would had
 * they come one after the other in this order: every reference's lock first (the one
 * `lockReference` takes, shared with the store of Alfred's transaction id), one insert claiming
 * the new (eventType, referenceId, status) keys, one read of the keys already taken and of the
 * orders, then the mirror moves, the outcomes and duplicate counts, and the status events in the
 * outbox in one statement. An event of an unknown reference is kept (a later copy, or the store of
 * the id, applies it); a copy is counted and changes nothing. A disagreeing amount is reported
 * through `reportAmountMismatch`, as one webhook would.
 */
export async function ingestOfframpWebhooks(
  em: EntityManager,
  items: readonly WebhookItem[],
  tolerancePct: number,
): Promise<IngestOutcome[]> {
  if (items.some((i) => i.event.eventType !== 'OFFRAMP')) throw new Error('ingestOfframpWebhooks takes OFFRAMP events only');
  const references = [...new Set(items.map((i) => i.event.referenceId))];
  await lockReferences(em, references);

  // The first copy of each key in the batch claims it; later copies are duplicates of that one.
  const firsts = new Map<string, WebhookItem>();
  for (const item of items) {
    const key = keyOf(item.event.referenceId, item.event.status);
    if (!firsts.has(key)) firsts.set(key, item);
  }
  // The raw body is sent once: the payload (the parsed event) goes too only when its JSON is not
  // the raw body's very text (as it is for the sandbox's bodies and the bench's: same fields, same order).
  const claims = [...firsts.values()].map((i) => {
    const same = JSON.stringify(i.event) === i.rawBody;
    return { reference_id: i.event.referenceId, status: i.event.status, payload: same ? null : i.event, raw_body: i.rawBody };
  });
  // One statement after the locks (so it sees whatever their previous holders committed): the
  // claims, the keys already taken (the insert's own rows are not in its snapshot), the orders.
  // Rows are found through `= any(array(...))`: the planner then uses the indexes whatever it
  // guesses of the batch's size (a join on the input alone scanned all of offramps).
  // Its parameters and the last statement's are bound (`queryBound`), not inlined into the text.
  const [read] = await queryRowsBound(
    em,
    batchRead,
    `with input as (
       select * from rows from (jsonb_to_recordset($1::jsonb) as (reference_id text, status text, payload jsonb, raw_body text))
         with ordinality as c(reference_id, status, payload, raw_body, n)),
     claimed as (
       insert into partner_events (event_type, reference_id, status, source, outcome, payload, raw_body)
       select 'OFFRAMP', reference_id, status, 'webhook', 'pending', coalesce(payload, raw_body::jsonb), raw_body from input order by n
       on conflict (event_type, reference_id, status) do nothing
       returning id, reference_id, status),
     taken as (
       select p.id, p.reference_id, p.status, p.outcome from partner_events p
       join input i on p.reference_id = i.reference_id and p.status = i.status
       where p.event_type = 'OFFRAMP' and p.reference_id = any(array(select reference_id from input))
       order by p.id for update of p),
     known as (
       select withdrawal_id, transaction_id, alfred_status, crypto_amount_minor, fiat_currency, fiat_amount from offramps
       where transaction_id = any(array(select reference_id from input)) order by withdrawal_id for update)
     select
       (select coalesce(jsonb_agg(jsonb_build_object('id', id::text, 'reference_id', reference_id, 'status', status)), '[]') from claimed) as claimed,
       (select coalesce(jsonb_agg(jsonb_build_object('id', id::text, 'reference_id', reference_id, 'status', status, 'outcome', outcome)), '[]')
          from taken) as taken,
       (select coalesce(jsonb_agg(jsonb_build_object('withdrawal_id', withdrawal_id::text, 'transaction_id', transaction_id,
          'alfred_status', alfred_status, 'crypto_amount_minor', crypto_amount_minor::text, 'fiat_currency', fiat_currency,
          'fiat_amount', fiat_amount)), '[]') from known) as known`,
    [JSON.stringify(claims)],
  );
  const rows = new Map<string, EventRow & { claimed: boolean }>();
  for (const r of read!.claimed)
    rows.set(keyOf(r.reference_id, r.status), { id: r.id, outcome: 'pending', newOutcome: null, duplicates: 0, claimed: true });
  for (const r of read!.taken)
    rows.set(keyOf(r.reference_id, r.status), { id: r.id, outcome: r.outcome, newOutcome: null, duplicates: 0, claimed: false });
  // Every key is either claimed now or was taken before, and nothing deletes a partner event.
  if (rows.size !== firsts.size) throw new Error('partner event key taken but its row is missing');

  const orders = new Map<string, KnownOrder>();
  for (const o of read!.known) {
    orders.set(o.transaction_id, {
      withdrawalId: o.withdrawal_id,
      alfredStatus: o.alfred_status,
      cryptoAmountMinor: o.crypto_amount_minor,
      fiatCurrency: o.fiat_currency,
      fiatAmount: o.fiat_amount,
      move: null,
    });
  }

  const outbox: OutboxRow[] = [];
  /** What applying the event does, as `applyOfframp` does it: the mirror moved in memory, the status event kept for the outbox. */
  const apply = async (item: WebhookItem): Promise<IngestOutcome> => {
    const report = readOfframpReport(item.event);
    if (!report) return 'ignored';
    const order = orders.get(item.event.referenceId);
    if (!order) return 'unknown_reference';
    const { status, failureReason, txHash, amounts } = report;
    if (isNewerStatus(status, order.alfredStatus)) {
      order.move = {
        status,
        failureReason: failureReason ?? order.move?.failureReason ?? null,
        txHash: txHash ?? order.move?.txHash ?? null,
      };
      order.alfredStatus = status;
    }
    const cause = { correlationId: order.withdrawalId, causationId: null, traceId: item.traceId };
    // Rare: only a disagreeing amount costs statements of its own (the discrepancy, once per order).
    if (carriesAmounts(amounts) && !checkAmounts(order, amounts, tolerancePct).ok) {
      const offramp = await findOfframpByTransaction(em, item.event.referenceId);
      if (offramp) await reportAmountMismatch(em, offramp, item.event.referenceId, amounts, { tolerancePct, seenIn: 'webhook', cause });
    }
    outbox.push(
      outboxRow(
        pspAlfredEvents.offrampStatusChanged,
        { withdrawalId: order.withdrawalId, transactionId: item.event.referenceId, status, failureReason, source: 'webhook' },
        cause,
      ),
    );
    return 'applied';
  };

  const outcomes: IngestOutcome[] = [];
  const claimedBy = new Set<string>();
  for (const item of items) {
    const key = keyOf(item.event.referenceId, item.event.status);
    const row = rows.get(key)!;
    if (row.claimed && !claimedBy.has(key)) {
      claimedBy.add(key);
      const outcome = await apply(item);
      row.outcome = outcome;
      row.newOutcome = outcome;
      outcomes.push(outcome);
      continue;
    }
    row.duplicates++;
    // Being early never spends the key: an event kept as unknown is tried again by every copy.
    if (row.outcome !== 'unknown_reference') {
      outcomes.push('duplicate');
      continue;
    }
    const outcome = await apply(item);
    if (outcome === 'applied') {
      row.outcome = 'applied';
      row.newOutcome = 'applied';
      outcomes.push('applied');
    } else outcomes.push('duplicate');
  }

  const moves = [...orders.values()]
    .filter((o) => o.move)
    .map((o) => ({
      withdrawal_id: o.withdrawalId,
      status: o.move!.status,
      failure_reason: o.move!.failureReason,
      tx_hash: o.move!.txHash,
    }));
  const events = [...rows.values()]
    .filter((r) => r.newOutcome !== null || r.duplicates > 0)
    .map((r) => ({ id: r.id, outcome: r.newOutcome, duplicates: r.duplicates }));
  await executeBound(
    em,
    `with moves as (select * from jsonb_to_recordset($1::jsonb) as m(withdrawal_id uuid, status text, failure_reason text, tx_hash text)),
     counts as (select * from jsonb_to_recordset($2::jsonb) as e(id bigint, outcome text, duplicates int)),
     moved as (
       update offramps o set alfred_status = m.status, failure_reason = coalesce(m.failure_reason, o.failure_reason),
         deposit_tx_hash = coalesce(m.tx_hash, o.deposit_tx_hash), status_at = now(), updated_at = now()
       from moves m
       where o.withdrawal_id = m.withdrawal_id and o.withdrawal_id = any(array(select withdrawal_id from moves))
       returning 1),
     counted as (
       update partner_events p set outcome = coalesce(e.outcome, p.outcome), duplicates = p.duplicates + e.duplicates
       from counts e
       where p.id = e.id and p.id = any(array(select id from counts))
       returning 1),
     published as (${outboxInsert(3)} returning 1)
     select (select count(*) from moved) as moved, (select count(*) from counted) as counted, (select count(*) from published) as published`,
    [JSON.stringify(moves), JSON.stringify(events), outboxRowsParam(outbox)],
  );
  return outcomes;
}

export interface WebhookIntakeOptions {
  db: Database;
  log: Logger;
  tolerancePct: number;
  /** Called after a batch committed (the relay's wake-up). */
  committed: () => void;
  /** Most webhooks in one transaction; 200 by default. */
  maxBatch?: number;
  /** Batches in flight at once (each holds a database connection); 1 by default. */
  concurrency?: number;
}

interface Pending extends WebhookItem {
  resolve: (outcome: IngestOutcome) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for Alfred's OFFRAMP webhooks: the webhooks that arrive while a batch is being
 * stored wait for the next one and go to the database together (`ingestOfframpWebhooks`), so a
 * busy intake costs a few statements per batch instead of several per webhook, and a lone
 * webhook goes at once. Each webhook still gets its own outcome once its batch committed. A batch
 * that fails for anything but the database being unavailable is retried one webhook per
 * transaction (`ingestPartnerEvent`), so one bad event never fails the others.
 */
export function createWebhookIntake(opts: WebhookIntakeOptions) {
  const maxBatch = opts.maxBatch ?? 200;
  // One batch at a time: the webhooks arriving meanwhile make the next one. Measured with the bench
  // (32 connections), two in flight split the same arrivals into batches of ~10 instead of ~16, for
  // 0.8 SQL statements a webhook instead of 0.45 (each batch is begin, locks, read, write, commit,
  // and wakes the relay for a transaction of its own) and no better latency or throughput.
  const concurrency = opts.concurrency ?? 1;
  const queue: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;

  const one = (p: Pending) =>
    inTransaction(opts.db, (em) =>
      ingestPartnerEvent(em, p.event, { source: 'webhook', rawBody: p.rawBody, traceId: p.traceId, tolerancePct: opts.tolerancePct }),
    );

  async function store(batch: Pending[]): Promise<void> {
    try {
      const outcomes = await inTransaction(opts.db, (em) => ingestOfframpWebhooks(em, batch, opts.tolerancePct));
      opts.committed();
      batch.forEach((p, i) => p.resolve(outcomes[i]!));
      return;
    } catch (err) {
      if (batch.length === 1 || isInfrastructureError(err)) {
        for (const p of batch) p.reject(err);
        return;
      }
      opts.log.warn({ err, webhooks: batch.length }, 'webhook batch failed; storing its webhooks one by one');
    }
    await Promise.all(
      batch.map(async (p) => {
        try {
          const outcome = await one(p);
          opts.committed();
          p.resolve(outcome);
        } catch (err) {
          p.reject(err);
        }
      }),
    );
  }

  function pump(): void {
    scheduled = false;
    while (inFlight < concurrency && queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      inFlight++;
      void store(batch).finally(() => {
        inFlight--;
        pump();
      });
    }
  }

  return {
    /** Stores one OFFRAMP webhook with the others arriving meanwhile; resolves with its outcome once committed. */
    submit(item: WebhookItem): Promise<IngestOutcome> {
      return new Promise<IngestOutcome>((resolve, reject) => {
        queue.push({ ...item, resolve, reject });
        // The webhooks read in the same turn of the event loop go together.
        if (!scheduled && inFlight < concurrency) {
          scheduled = true;
          setImmediate(pump);
        }
      });
    },
  };
}
