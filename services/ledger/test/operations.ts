import { newId } from '@offramp/kit';
import type { TransferRequest } from '@offramp/contracts';
import type { LedgerOperation } from '../src/transfers/transfers.ts';

/** Ledger operations as the group commit takes them, for the tests that drive it directly. */

export const account = (owner: string) => ({ owner, currency: 'USDT' });
export const clearing = account('psp:alfred:clearing');
export const deposits = account('external:deposits');
export const testCause = { correlationId: 'ledger-batch-test', causationId: null, traceId: newId() };

export const move = (kind: 'transfer' | 'hold', request: TransferRequest): LedgerOperation => ({ kind, request, cause: testCause });
export const resolve = (kind: 'post' | 'void', id: string, holdId: string): LedgerOperation => ({
  kind,
  request: { id, holdId },
  cause: testCause,
});

/** A request from the USDT account of `debit` to `credit`. */
export const request = (
  debit: string,
  credit: { owner: string; currency: string },
  amountMinor: bigint,
  id = newId(),
): TransferRequest => ({
  id,
  debit: account(debit),
  credit,
  amountMinor,
  metadata: { test: 'ledger-batch' },
});
