import type { SandboxContext } from '../state.ts';
import { accept, refuse, type Outcome } from '../transport/refusals.ts';
import { depositTxHashFor } from './deposit-address.ts';
import { isFinal, statusesBetween, stepKind, type OfframpStatus } from './offramp-status.ts';
import type { Offramp } from './offramps.ts';

/** *(assumed)* The reason a failure carries when whoever failed it gave none. */
const defaultFailureReason = 'SANDBOX_SIMULATED_FAILURE';

function apply(ctx: SandboxContext, offramp: Offramp, status: OfframpStatus, metadata: Record<string, unknown>): void {
  const at = ctx.now().toISOString();
  offramp.status = status;
  offramp.updatedAt = at;
  offramp.history.push({ status, at });
  offramp.metadata = { ...offramp.metadata, ...metadata };
  if (status === 'FAILED' && typeof offramp.metadata.failureReason !== 'string') offramp.metadata.failureReason = defaultFailureReason;
  // The sandbox treats the deposit as received: it makes up the chain transaction that funded it.
  if (status === 'ON_CHAIN_DEPOSIT_RECEIVED' && offramp.txHash === null) {
    offramp.txHash = typeof metadata.txHash === 'string' ? metadata.txHash : depositTxHashFor(offramp.chain, offramp.transactionId);
    offramp.metadata.txHash = offramp.txHash;
  }
  ctx.state.offramps.touch(offramp.transactionId);
}

/**
 * Moves an offramp forward (or to FAILED) and delivers the OFFRAMP webhook; the current status
 * again re-delivers it unchanged. Outcomes: ok, invalid_status_change.
 */
export function moveOfframp(
  ctx: SandboxContext,
  offramp: Offramp,
  status: OfframpStatus,
  metadata: Record<string, unknown> | null,
): Outcome<{ offramp: Offramp; changed: boolean }> {
  const kind = stepKind(offramp.status, status);
  if (kind === 'illegal') return refuse('invalid_status_change', { from: offramp.status, to: status });
  if (kind === 'forward') apply(ctx, offramp, status, metadata ?? {});
  ctx.webhooks.send({ referenceId: offramp.transactionId, eventType: 'OFFRAMP', status, metadata: { ...offramp.metadata } });
  return accept({ offramp, changed: kind === 'forward' });
}

export interface WalkRequest {
  outcome: 'success' | 'failure';
  failureReason?: string;
  /** For a failure: the chain status to reach before failing (default: fail from where it is). */
  failAfter?: OfframpStatus;
}

/**
 * Walks an offramp one status at a time to FIAT_TRANSFER_COMPLETED, or to FAILED, delivering each
 * step's webhook in order. Outcomes: ok (with the statuses walked), invalid_status_change.
 */
export function walkOfframp(
  ctx: SandboxContext,
  offramp: Offramp,
  request: WalkRequest,
): Outcome<{ offramp: Offramp; steps: OfframpStatus[] }> {
  if (isFinal(offramp.status)) return refuse('invalid_status_change', { from: offramp.status, to: 'walk' });
  const until = request.outcome === 'success' ? 'FIAT_TRANSFER_COMPLETED' : (request.failAfter ?? offramp.status);
  if (until === 'FAILED' || stepKind(offramp.status, until) === 'illegal' || (request.outcome === 'failure' && isFinal(until))) {
    return refuse('invalid_status_change', { from: offramp.status, to: until });
  }
  const steps = statusesBetween(offramp.status, until);
  if (request.outcome === 'failure') steps.push('FAILED');
  for (const status of steps) {
    const metadata = status === 'FAILED' ? { failureReason: request.failureReason ?? defaultFailureReason } : null;
    const moved = moveOfframp(ctx, offramp, status, metadata);
    if (!moved.ok) return moved;
  }
  return accept({ offramp, steps });
}
