import type { FastifyRequest } from 'fastify';
import { ledgerRpc } from '@offramp/contracts';
import type { Services } from '../edge/services.ts';

/**
 * QA funding: one ledger rpc (served only by a ledger with DEV_RPCS=true) opens `trader:<id>` if
 * needed and credits it from `external:deposits`. No id is passed: every call is a new deposit.
 */
export async function fundTrader(services: Services, request: FastifyRequest, traderId: string, amountMinor: bigint): Promise<string> {
  const result = await services.call(request, ledgerRpc.devFund, { owner: `trader:${traderId}`, currency: 'USDT', amountMinor });
  // Any other outcome means the ledger's system accounts are misconfigured: a bug, not a user error.
  if (result.outcome !== 'ok') throw new Error(`qa funding refused by the ledger: ${result.outcome}`);
  return result.transferId;
}
