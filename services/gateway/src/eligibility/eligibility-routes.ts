import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { eligibilityAnswer, pspAlfredRpc, quoteAnswer, quotePreviewBody, supportedOptionsAnswer, type ErrorCode } from '@offramp/contracts';
import { sendData } from '@offramp/kit';
import { traderOf } from '../auth/auth.ts';
import { quoteExample } from '../edge/examples.ts';
import { operation } from '../edge/openapi.ts';
import { unwrap, type Services } from '../edge/services.ts';
import { quoteToWire } from '../edge/wire.ts';

/** Why a trader may not withdraw through Alfred (403), from psp-alfred's eligibility. */
export const eligibilityErrors: ErrorCode[] = [
  'USER_NOT_VERIFIED',
  'ALFRED_KYC_PENDING',
  'ALFRED_KYC_REJECTED',
  'ALFRED_NOT_AVAILABLE_FOR_COUNTRY',
  'ALFRED_CUSTOMER_NOT_PROVISIONED',
];

/** Widget gates and pricing: eligibility, the routes of the trader's country, a quote preview. */
export function eligibilityRoutes(deps: { services: Services }) {
  const { services } = deps;
  return async (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/eligibility',
      {
        schema: operation({
          operationId: 'getEligibility',
          summary: 'Whether the trader may withdraw through Alfred',
          description:
            'Eligible: the country and its rails. Not eligible because Alfred asks for more KYC: `reason: "KYC_UPDATE_REQUIRED"` with the fields and documents to send. Any other reason is a 403 naming it.',
          tag: 'eligibility',
          access: 'trader',
          answer: eligibilityAnswer,
          errors: eligibilityErrors,
          examples: { answer: { eligible: true, country: 'BR', rails: ['PIX'] } },
        }),
      },
      async (request, reply) =>
        sendData(request, reply, unwrap(await services.call(request, pspAlfredRpc.eligibility, { traderId: traderOf(request).id }))),
    );

    app.get(
      '/supported-options',
      {
        schema: operation({
          operationId: 'listSupportedOptions',
          summary: "Payment routes of the trader's country",
          description: 'Each route with its rail, fiat currency and the bounds of one withdrawal in that currency.',
          tag: 'eligibility',
          access: 'trader',
          answer: supportedOptionsAnswer,
          errors: eligibilityErrors,
          examples: { answer: [{ payment_route_id: 'BR_PIX', rail: 'PIX', currency: 'BRL', min: '10.00', max: '50000.00' }] },
        }),
      },
      async (request, reply) => {
        const { routes } = unwrap(await services.call(request, pspAlfredRpc.supportedOptions, { traderId: traderOf(request).id }));
        const data = routes.map((r) => ({
          payment_route_id: r.paymentRouteId,
          rail: r.rail,
          currency: r.currency,
          min: r.min,
          max: r.max,
        }));
        return sendData(request, reply, data);
      },
    );

    app.post(
      '/quote-preview',
      {
        schema: operation({
          operationId: 'previewQuote',
          summary: 'Indicative quote for a withdrawal',
          description:
            'The USDT that `amount` of the fiat currency costs now, with rate and fees. `amount` is a decimal string (a JSON number is taken exactly, never through floats).',
          tag: 'eligibility',
          access: 'trader',
          body: quotePreviewBody,
          answer: quoteAnswer,
          errors: [...eligibilityErrors, 'LIMIT_EXCEEDED'],
          examples: { body: { type: 'withdrawal', amount: '100.00', source_currency_id: 'BRL' }, answer: quoteExample },
        }),
      },
      async (request, reply) => {
        const body = request.body;
        const req = { traderId: traderOf(request).id, fiatCurrency: body.source_currency_id, fiatAmount: body.amount };
        const quote = unwrap(await services.call(request, pspAlfredRpc.quote, req));
        return sendData(request, reply, quoteToWire(quote));
      },
    );
  };
}
