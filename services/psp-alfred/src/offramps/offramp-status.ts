import type { OfframpStatus } from '@offramp/contracts';

// The chain of an order's statuses at Alfred, and which way the mirror may move along it: a rule of
// the domain, kept apart from the store that writes the mirror.

/** The statuses that end an order. */
export const terminalStatuses: readonly OfframpStatus[] = ['FIAT_TRANSFER_COMPLETED', 'FAILED'];
/** Position along the chain; FAILED ends it like FIAT_TRANSFER_COMPLETED. */
export const statusRank: Record<OfframpStatus, number> = {
  CREATED: 0,
  ON_CHAIN_DEPOSIT_RECEIVED: 1,
  TRADE_COMPLETED: 2,
  FIAT_TRANSFER_INITIATED: 3,
  FIAT_TRANSFER_COMPLETED: 4,
  FAILED: 4,
};

/** Whether `next` moves the mirror forward: nothing leaves a terminal status, and no step goes back. */
export const isNewerStatus = (next: OfframpStatus, current: OfframpStatus | null) =>
  current === null || (!terminalStatuses.includes(current) && statusRank[next] > statusRank[current]);
