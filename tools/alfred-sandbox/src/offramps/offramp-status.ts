/** The offramp's happy path, in order; FAILED can follow any state that is not final. */
export const offrampChain = [
  'CREATED',
  'ON_CHAIN_DEPOSIT_RECEIVED',
  'TRADE_COMPLETED',
  'FIAT_TRANSFER_INITIATED',
  'FIAT_TRANSFER_COMPLETED',
] as const;
export const offrampStatuses = [...offrampChain, 'FAILED'] as const;
export type OfframpStatus = (typeof offrampStatuses)[number];

export const isFinal = (status: OfframpStatus) => status === 'FIAT_TRANSFER_COMPLETED' || status === 'FAILED';

const positionOf = (status: OfframpStatus) => (offrampChain as readonly string[]).indexOf(status);

/**
 * What moving `from` to `to` is: the same status (a re-delivery), a step forward (one or several
 * along the chain, or FAILED from a state that is not final), or illegal (backwards, or out of a
 * final state).
 */
export function stepKind(from: OfframpStatus, to: OfframpStatus): 'same' | 'forward' | 'illegal' {
  if (from === to) return 'same';
  if (isFinal(from)) return 'illegal';
  if (to === 'FAILED') return 'forward';
  return positionOf(to) > positionOf(from) ? 'forward' : 'illegal';
}

/** The chain statuses after `from`, up to and including `until`. */
export function statusesBetween(from: OfframpStatus, until: OfframpStatus): OfframpStatus[] {
  return offrampChain.slice(positionOf(from) + 1, positionOf(until) + 1);
}
