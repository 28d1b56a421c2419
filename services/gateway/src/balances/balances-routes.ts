import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { balancesAnswer, currencyDecimals, ledgerRpc, minorToDecimal } from '@offramp/contracts';
import { sendData } from '@offramp/kit';
import { traderOf } from '../auth/auth.ts';
import { operation } from '../edge/openapi.ts';
import type { Services } from '../edge/services.ts';

/**
 * The trader's balances: available = posted - pending debits, held = pending debits (the holds of
 * withdrawals in flight). USDT is always listed, at zero before the first deposit.
 */
export async function traderBalances(services: Services, request: FastifyRequest, traderId: string) {
  const { balances } = await services.call(request, ledgerRpc.getBalances, { owner: `trader:${traderId}` });
  const rows = balances.map((b) => {
    const decimals = currencyDecimals[b.currency] ?? 0;
    return {
      currency: b.currency,
      available: minorToDecimal(b.availableMinor, decimals),
      held: minorToDecimal(b.pendingDebitsMinor, decimals),
    };
  });
  if (!rows.some((r) => r.currency === 'USDT'))
    rows.unshift({ currency: 'USDT', available: minorToDecimal(0n, 6), held: minorToDecimal(0n, 6) });
  return rows;
}

export function balanceRoutes(deps: { services: Services }) {
  const { services } = deps;
  return async (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/balances',
      {
        schema: operation({
          operationId: 'listBalances',
          summary: "The trader's balances",
          description:
            '`available` may be withdrawn; `held` is reserved by withdrawals in flight. USDT is always listed (zero before the first deposit).',
          tag: 'balances',
          access: 'trader',
          answer: balancesAnswer,
          examples: { answer: [{ currency: 'USDT', available: '979.950884', held: '20.049116' }] },
        }),
      },
      async (request, reply) => sendData(request, reply, await traderBalances(services, request, traderOf(request).id)),
    );
  };
}
