import type { FastifyRequest } from 'fastify';
import { ledgerRpc } from '@offramp/contracts';
import { newId } from '@offramp/kit';
import type { Services } from '../edge/services.ts';

const deposits = { owner: 'external:deposits', currency: 'USDT' };

/**
 * QA funding: credits `trader:<id>` from `external:deposits` (the system account that stands for
 * money coming from outside, allowed to go negative), opening both accounts when needed. The
 * transfer id is fresh: every call is a new deposit.
 */
export async function fundTrader(services: Services, request: FastifyRequest, traderId: string, amountMinor: bigint): Promise<string> {
  const trader = { owner: `trader:${traderId}`, currency: 'USDT' };
  await services.call(request, ledgerRpc.openAccount, { ...deposits, allowNegative: true });
  await services.call(request, ledgerRpc.openAccount, { ...trader, allowNegative: false });
  const id = newId();
  const result = await services.call(request, ledgerRpc.transfer, { id, debit: deposits, credit: trader, amountMinor, metadata: { reason: 'qa-fund' } });
  // Any other outcome means the system accounts are misconfigured: a bug, not a user error.
  if (result.outcome !== 'ok') throw new Error(`qa funding refused by the ledger: ${result.outcome}`);
  return id;
}
