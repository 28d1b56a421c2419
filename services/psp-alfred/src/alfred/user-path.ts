import { refuse, type ServiceResult } from '@offramp/contracts';
import type { Logger } from '@offramp/kit';
import { AlfredUnavailable } from './transport.ts';
import type { AlfredErrorBody } from './schemas.ts';

/**
 * Runs a user-facing operation that calls Alfred: when Alfred gives no answer (breaker open, 5xx,
 * timeout), the user gets PSP_UNAVAILABLE (503) instead of an internal error.
 */
export async function onUserPath<T>(log: Logger, fn: () => Promise<ServiceResult<T>>): Promise<ServiceResult<T>> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof AlfredUnavailable)) throw err;
    log.warn({ reason: err.reason, status: err.status }, 'alfred unavailable on a user path');
    return refuse('PSP_UNAVAILABLE', 'Payment provider unavailable, try again later', { status: 503, details: { reason: err.reason } });
  }
}

/** A refusal of Alfred's that the operation has no meaning for: our request was wrong, so it is ours to fix. */
export function unexpectedRefusal(log: Logger, operation: string, status: number, error: AlfredErrorBody): ServiceResult<never> {
  log.error({ operation, status, partnerCode: error.errorCode, partnerMessage: error.errorMessage }, 'unexpected refusal from alfred');
  return refuse('INTERNAL', 'Internal error');
}
