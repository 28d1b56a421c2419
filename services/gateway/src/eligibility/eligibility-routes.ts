import type { FastifyInstance } from 'fastify';
import { eligibilityAnswer, pspAlfredRpc, quoteAnswer, quotePreviewBody, supportedOptionsAnswer } from '@offramp/contracts';
import { sendData } from '@offramp/kit';
import { traderOf } from '../auth/auth.ts';
import { routeSchema } from '../edge/openapi.ts';
import { parseInput } from '../edge/parse-input.ts';
import { unwrap, type Services } from '../edge/services.ts';
import { quoteToWire } from '../edge/wire.ts';

const tag = 'eligibility';

/** Widget gates and pricing: eligibility, the routes of the trader's country, a quote preview. */
export function eligibilityRoutes(deps: { services: Services }) {
  const { services } = deps;
  return async (app: FastifyInstance) => {
    app.get('/eligibility', { schema: routeSchema({ tag, summary: 'Whether the trader may withdraw through Alfred', answer: eligibilityAnswer }) }, async (request, reply) => {
      const result = await services.call(request, pspAlfredRpc.eligibility, { traderId: traderOf(request).id });
      return sendData(request, reply, unwrap(result));
    });

    app.get(
      '/supported-options',
      { schema: routeSchema({ tag, summary: "Payment routes of the trader's country", answer: supportedOptionsAnswer }) },
      async (request, reply) => {
        const { routes } = unwrap(await services.call(request, pspAlfredRpc.supportedOptions, { traderId: traderOf(request).id }));
        const data = routes.map((r) => ({ payment_route_id: r.paymentRouteId, rail: r.rail, currency: r.currency, min: r.min, max: r.max }));
        return sendData(request, reply, data);
      },
    );

    app.post(
      '/quote-preview',
      { schema: routeSchema({ tag, summary: 'Indicative quote for a withdrawal', body: quotePreviewBody, answer: quoteAnswer }) },
      async (request, reply) => {
        const body = parseInput(quotePreviewBody, request.body);
        const req = { traderId: traderOf(request).id, fiatCurrency: body.source_currency_id, fiatAmount: body.amount };
        const quote = unwrap(await services.call(request, pspAlfredRpc.quote, req));
        return sendData(request, reply, quoteToWire(quote));
      },
    );
  };
}
