import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  partnerRequestStatusView,
  partnerRequestView,
  partnersRpc,
  partnerWithdrawalRequestBody,
  withdrawRequestParams,
} from '@offramp/contracts';
import { AppError, exactJsonParser, sendData, type Messaging } from '@offramp/kit';
import type { GatewayConfig } from '../config.ts';
import { exampleIds } from '../edge/examples.ts';
import { operation, successEnvelope } from '../edge/openapi.ts';
import { rateLimitStoreOption } from '../edge/rate-limit-store.ts';
import { unwrap, type Services } from '../edge/services.ts';

const tag = 'partner';

/** The partner each request was signed by (set by the scope's preValidation hook, after the signature is checked in sessions). */
const signedBy = new WeakMap<FastifyRequest, string>();

function partnerOf(request: FastifyRequest): string {
  const partnerId = signedBy.get(request);
  if (!partnerId) throw new AppError('PARTNER_UNAUTHORIZED', 'Unknown API key (x-api-key)');
  return partnerId;
}

const header = (request: FastifyRequest, name: string): string => {
  const value = request.headers[name];
  return typeof value === 'string' ? value : '';
};

const rateLimited = (ttlMs: number) =>
  new AppError('RATE_LIMITED', 'Too many requests, slow down', { details: { retryAfterSeconds: Math.ceil(ttlMs / 1000) } });

/** JSON parsed exactly as every other route does (numbers a double holds, no `__proto__`), once the signature is checked. */
const parseJson = (raw: Buffer) =>
  new Promise<unknown>((resolve, reject) => exactJsonParser()(undefined, raw, (err, body) => (err ? reject(err) : resolve(body))));

/**
 * `/partner/v1`: the server-to-server partner API, with no JWT. Its own body parser keeps the
 * exact bytes of a JSON body (the signature covers them); every other content type is 415. In
 * order: a first rate limit before anything is checked (onRequest: a bucket per `x-api-key` and
 * client IP, PARTNER_RATE_LIMIT_MAX a window; requests without the header per IP with
 * RATE_LIMIT_ANON_MAX), so unsigned floods stop at the edge; then (preValidation) the signature:
 * sessions checks `x-payload-hash` against the raw body of a POST or the request target (path and
 * query string as sent) of a GET with the partner's secret, which never leaves sessions
 * (PARTNER_UNAUTHORIZED, PARTNER_SIGNATURE_INVALID, PARTNER_DISABLED); then the
 * partner's own budget, PARTNER_RATE_LIMIT_MAX a window for all its servers, counting only the
 * requests it signed, so whoever knows a key id cannot spend the partner's budget; only then is
 * the body parsed and validated.
 */
export function partnerScope(config: GatewayConfig, services: Services, messaging: Messaging) {
  return async (app: FastifyInstance) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    await app.register(fastifyRateLimit, {
      ...rateLimitStoreOption(config, messaging, 'partner'),
      timeWindow: config.RATE_LIMIT_WINDOW_MS,
      keyGenerator: (request) => {
        const key = header(request, 'x-api-key');
        return /^[A-Za-z0-9_-]{1,100}$/.test(key) ? `partner-key:${key}@${request.ip}` : `anonymous-ip:${request.ip}`;
      },
      max: (_request, key) => (key.startsWith('partner-key:') ? config.PARTNER_RATE_LIMIT_MAX : config.RATE_LIMIT_ANON_MAX),
      errorResponseBuilder: (_request, context) => rateLimited(context.ttl),
    });
    /** The partner's own budget, counted once its signature is checked. */
    const partnerBudget = app.createRateLimit({
      keyGenerator: (request) => `partner:${partnerOf(request)}`,
      max: config.PARTNER_RATE_LIMIT_MAX,
    });
    app.addHook('preValidation', async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      // A GET (or its HEAD) has no body: its request target is what is signed.
      const bodiless = request.method === 'GET' || request.method === 'HEAD';
      const signed = bodiless ? Buffer.from(request.url, 'utf8') : raw;
      const apiKeyId = header(request, 'x-api-key');
      const payloadHash = header(request, 'x-payload-hash');
      const known = await services.call(request, partnersRpc.authenticate, {
        apiKeyId: apiKeyId.length <= 200 ? apiKeyId : '',
        payloadHash: payloadHash.length <= 200 ? payloadHash : '',
        signed: signed.toString('base64'),
      });
      signedBy.set(request, unwrap(known).partnerId);
      const budget = await partnerBudget(request);
      if (!budget.isAllowed) {
        reply.header('x-ratelimit-limit', budget.max).header('x-ratelimit-remaining', budget.remaining);
        reply.header('x-ratelimit-reset', budget.ttlInSeconds);
        if (budget.isExceeded) {
          reply.header('retry-after', budget.ttlInSeconds);
          throw rateLimited(budget.ttl);
        }
      }
      if (!bodiless) request.body = await parseJson(raw);
    });
    await app.register(partnerRoutes({ services }));
  };
}

const requestExample = {
  withdrawRequestId: 'wr-2030-0001',
  withdrawRequestDate: 1_893_456_000_000,
  userId: 'trader-42',
  userName: 'Joao Santos',
  fiatCurrency: 'BRL',
  fiatAmount: '100.00',
  currency: 'USDT',
  fiatAccountId: exampleIds.fiatAccount,
};
const requestAnswerExample = {
  withdrawRequestId: 'wr-2030-0001',
  withdrawRequestDate: 1_893_456_000_000,
  userId: 'trader-42',
  userName: 'Joao Santos',
  withdrawalState: 'NEW',
  operationNo: exampleIds.withdrawal,
  conversion: {
    fiatAmount: '100.00',
    fiatCurrency: 'BRL',
    cryptoAmount: '20.049116',
    currency: 'USDT',
    rate: '5.45',
    quotedAt: '2030-01-01T00:00:00.000Z',
  },
  createdAt: '2030-01-01T00:00:00.000Z',
};

/** The partner's requests: create one, read its state. */
export function partnerRoutes(deps: { services: Services }) {
  const { services } = deps;
  return async (scope: FastifyInstance) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    const create = operation({
      operationId: 'partnerCreateWithdrawalRequest',
      summary: 'Request a withdrawal for a linked user',
      description:
        "Runs the widget's pipeline for the user: eligibility, the fiat account, the quote from the fiat amount, risk's limits, the hold of the quote's USDT, risk, Alfred. " +
        'Answers the request as persisted with the conversion (201 the first time; 200 with the same request when the same `withdrawRequestId` comes again with the same body). ' +
        'Headers: `x-api-key` (the apiKeyId) and `x-payload-hash`: HMAC-SHA256 of the exact raw body with the apiSecret, lowercase hex. ' +
        'Checked in order: the key, the hash, the partner enabled, `withdrawRequestDate` within PARTNER_REQUEST_WINDOW_MS of our clock (5 min), the user linked to the partner, ' +
        'then the request id (another partner’s: 409 PARTNER_REQUEST_ID_TAKEN; this partner’s with another body: 409 PARTNER_REQUEST_CONFLICT), then the widget’s checks. Nothing is held for a refusal.',
      tag,
      access: 'partner',
      status: 201,
      body: partnerWithdrawalRequestBody,
      answer: partnerRequestView,
      errors: [
        'PARTNER_REQUEST_STALE',
        'PARTNER_USER_NOT_LINKED',
        'PARTNER_REQUEST_ID_TAKEN',
        'PARTNER_REQUEST_CONFLICT',
        'USER_NOT_VERIFIED',
        'ALFRED_KYC_PENDING',
        'ALFRED_KYC_REJECTED',
        'ALFRED_NOT_AVAILABLE_FOR_COUNTRY',
        'ALFRED_CUSTOMER_NOT_PROVISIONED',
        'FIAT_ACCOUNT_NOT_FOUND',
        'FIAT_ACCOUNT_ERRORED',
        'LIMIT_EXCEEDED',
        'ALFRED_WITHDRAWALS_FROZEN',
        'INSUFFICIENT_FUNDS',
      ],
      examples: { body: requestExample, answer: requestAnswerExample },
    });
    create.response[200] = successEnvelope(partnerRequestView, 'The same request made before, as persisted', {
      ...requestAnswerExample,
      withdrawalState: 'PROCESSING',
    });
    app.post('/withdrawal-requests', { schema: create }, async (request, reply) => {
      const answer = unwrap(
        await services.call(request, partnersRpc.createRequest, { partnerId: partnerOf(request), request: request.body }),
      );
      return sendData(request, reply, answer.request, answer.created ? 201 : 200);
    });

    app.get(
      '/withdrawal-requests/:withdrawRequestId',
      {
        schema: operation({
          operationId: 'partnerGetWithdrawalRequest',
          summary: 'The state of a withdrawal request',
          description:
            '`x-payload-hash` is the HMAC-SHA256 (lowercase hex) with the apiSecret of the request target as sent: the path and its query string, e.g. `/partner/v1/withdrawal-requests/wr-2030-0001`. ' +
            '`withdrawalState`: NEW (held, risk deciding), PROCESSING (in review, approved, or at Alfred), COMPLETED, FAILED (the payout failed at Alfred: `failure`), REJECTED (refused by risk or an operator).',
          tag,
          access: 'partner',
          params: withdrawRequestParams,
          answer: partnerRequestStatusView,
          errors: ['PARTNER_REQUEST_NOT_FOUND'],
          examples: {
            answer: {
              withdrawRequestId: 'wr-2030-0001',
              withdrawalState: 'COMPLETED',
              amount: '20.049116',
              currency: 'USDT',
              fiatAmount: '100.00',
              fiatCurrency: 'BRL',
              userId: 'trader-42',
              userName: 'Joao Santos',
              withdrawTime: 1_893_456_000_500,
              finishTime: 1_893_456_030_000,
              operationNo: exampleIds.withdrawal,
              status: 'completed',
              failure: null,
            },
          },
        }),
      },
      async (request, reply) =>
        sendData(
          request,
          reply,
          unwrap(
            await services.call(request, partnersRpc.getRequest, {
              partnerId: partnerOf(request),
              withdrawRequestId: request.params.withdrawRequestId,
            }),
          ),
        ),
    );
  };
}
