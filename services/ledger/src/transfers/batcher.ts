import type { Database } from '@offramp/kit';
import type { TransferResult } from '@offramp/contracts';
import { applyOperations, validateOperation, type LedgerOperation } from './transfers.ts';

/**
 * Group commit: operations submitted by concurrent requests are applied together, up to `maxBatch`
 * per statement (`applyOperations`, one transaction, one round trip). While `maxInFlight` batches
 * are running, new operations wait and leave together when one returns ("natural batching"): a lone
 * operation at low load leaves at once, alone, and under load the batches grow by themselves.
 */
export interface LedgerBatcherOptions {
  db: Database;
  /** Most operations in one batch. */
  maxBatch: number;
  /** Most batches running at once (each holds one database connection). */
  maxInFlight: number;
  /** After a batch committed that applied something: its events are in the outbox (wake the relay). */
  onApplied?: () => void;
  /** After each batch, with its size and whether it committed (tests and metrics watch batching). */
  onBatch?: (size: number, committed: boolean) => void;
  /** Before a batch runs again after a race with a concurrent one, with the SQLSTATE that said so. */
  onRetry?: (sqlState: string) => void;
}

export interface LedgerBatcher {
  /**
   * The operation's own outcome, as if applied alone. Rejects when its batch failed (the database
   * unavailable, say): then nothing of that batch was applied, and the caller may retry.
   */
  submit(op: LedgerOperation): Promise<TransferResult>;
}

interface Pending {
  op: LedgerOperation;
  resolve: (result: TransferResult) => void;
  reject: (err: unknown) => void;
}

/** SQLSTATEs that say "a concurrent batch got in the way; run the same batch again" (see migration 0003). */
const retryableStates = new Set(['40001', '40P01', '23505']);
const maxAttempts = 5;

function sqlStateOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

export function createLedgerBatcher(opts: LedgerBatcherOptions): LedgerBatcher {
  const queue: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;

  // Starting on the next turn of the event loop lets the requests that arrived in the same read
  // of the socket leave together, at the cost of no waiting.
  const schedule = () => {
    if (scheduled || queue.length === 0 || inFlight >= opts.maxInFlight) return;
    scheduled = true;
    setImmediate(start);
  };

  const start = () => {
    scheduled = false;
    while (queue.length > 0 && inFlight < opts.maxInFlight) {
      const batch = queue.splice(0, opts.maxBatch);
      inFlight++;
      void run(batch).finally(() => {
        inFlight--;
        schedule();
      });
    }
  };

  async function run(batch: Pending[]): Promise<void> {
    const ops = batch.map((p) => p.op);
    let results: TransferResult[];
    for (let attempt = 1; ; attempt++) {
      try {
        results = await applyOperations(opts.db.em.fork(), ops);
        break;
      } catch (err) {
        // The statement failed as a whole: nothing of the batch was applied.
        const state = sqlStateOf(err);
        if (attempt < maxAttempts && state !== undefined && retryableStates.has(state)) {
          opts.onRetry?.(state);
          continue;
        }
        opts.onBatch?.(batch.length, false);
        for (const p of batch) p.reject(err);
        return;
      }
    }
    opts.onBatch?.(batch.length, true);
    if (results.some((r) => r.outcome === 'ok')) opts.onApplied?.();
    for (const [i, p] of batch.entries()) p.resolve(results[i]!);
  }

  return {
    submit(op) {
      if (validateOperation(op) === 'currency_mismatch') return Promise.resolve({ outcome: 'currency_mismatch', transfer: null });
      return new Promise<TransferResult>((resolve, reject) => {
        queue.push({ op, resolve, reject });
        schedule();
      });
    },
  };
}
