import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import fastifyMetricsModule from 'fastify-metrics';
import { z } from 'zod';
import { AppError, clientErrorCodeOf } from './errors.ts';
import { newId } from './ids.ts';
import { isInfrastructureError } from './infrastructure.ts';
import { clientErrorHandler } from './http-limits.ts';
import { exactJsonParser } from './json.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

export type ReadinessCheck = () => Promise<void>;

export interface HttpOptions {
  log: Logger;
  metrics: Metrics;
  /** Named checks run by `/readyz`; each throws when its dependency is not usable. */
  readiness: Record<string, ReadinessCheck>;
  bodyLimit?: number;
  /**
   * Which proxies in front may say who the client is (`X-Forwarded-For`): Fastify's `trustProxy`
   * (false: none, `request.ip` is the peer; true: any; a hop count; addresses or CIDRs).
   */
  trustProxy?: FastifyServerOptions['trustProxy'] | number;
}

// A CommonJS module whose plugin is its `default` export.
const fastifyMetrics = fastifyMetricsModule.default;

/** A hop count as the function Fastify's types accept (it means: trust the nearest `hops` addresses). */
function trustProxyOf(trust: NonNullable<HttpOptions['trustProxy']>): FastifyServerOptions['trustProxy'] {
  return typeof trust === 'number' ? (_address: string, hop: number) => hop < trust : trust;
}

export interface HttpServer {
  app: FastifyInstance;
  /** Makes `/readyz` answer 503 so load balancers stop sending traffic before shutdown. */
  setDraining(): void;
}

/**
 * One log line per request, when it completes, instead of Fastify's two ("incoming request" and
 * "request completed"): each line goes through pino's redaction, which costs about as much as the
 * rest of the line. The completion line carries what the incoming one did (`req`: method, the URL
 * with its query values redacted, host, remote address and port; the trace id) besides the status
 * code and response time. A reply a route hijacks (the gateway's event stream) never completes in
 * Fastify's eyes: such a route writes its own line when it takes the reply over.
 */
class RequestLogController extends LogController {
  /**
   * The completion line's own logger: the service's, without its redaction. The line is made of
   * the serialized request (method, the URL with its query values redacted, host, remote address
   * and port), the status code and the time, none of which a redaction path names, and checking
   * them all (wildcards included) cost as much as writing the line.
   */
  #completed: FastifyBaseLogger | undefined;

  constructor(opts: ConstructorParameters<typeof LogController>[0] & { log: Logger }) {
    super(opts);
    this.#completed = opts.log.child({}, { redact: [] }) as FastifyBaseLogger;
  }

  override incomingRequest(): void {
    // Logged at completion (below); a route that hijacks its reply logs its own line (the gateway's event stream).
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    // `res` as Fastify's request loggers serialize it (this logger is not theirs): the status code alone.
    else
      this.#completed!.info(
        { traceId: request.id, req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime },
        'request completed',
      );
  }
}

const traceHeader = 'x-trace-id';
const tracePattern = /^[A-Za-z0-9._:-]{1,100}$/;

/** Sends the success envelope. */
export function sendData(request: FastifyRequest, reply: FastifyReply, data: unknown, statusCode = 200) {
  return reply.code(statusCode).send({ success: true, data, trace_id: request.id });
}

/** The route label of a request no route matched: one value, whatever the URL was. */
export const unmatchedRoute = '__unmatched__';

/**
 * A Fastify instance with the error envelope, a trace id per request (taken from `x-trace-id` when
 * the caller sends a sane one, echoed back), `/healthz`, `/readyz` and `/metrics`, and the HTTP
 * request metrics of every route (fastify-metrics on the service's registry):
 * `http_request_duration_seconds{method, route, status_code}`, a histogram whose `_count` is the
 * request count. `route` is the route's pattern (`/psp/alfred/withdrawals/:id`), never the URL; a
 * request no route matched (404) is counted under `__unmatched__`. A reply a route hijacks (the
 * gateway's event stream once open) is not counted here: Fastify runs no onResponse hook for it.
 */
export function createHttpServer(opts: HttpOptions): HttpServer {
  let draining = false;
  const app = Fastify({
    loggerInstance: opts.log as FastifyBaseLogger,
    ...(opts.trustProxy === undefined ? {} : { trustProxy: trustProxyOf(opts.trustProxy) }),
    bodyLimit: opts.bodyLimit ?? 64 * 1024,
    genReqId: (req) => {
      const given = req.headers[traceHeader];
      return typeof given === 'string' && tracePattern.test(given) ? given : newId();
    },
    // Request log lines carry the trace id under the same key as every other log line; one line per request.
    logController: new RequestLogController({ requestIdLogLabel: 'traceId', log: opts.log }),
    // Errors Node's HTTP parser meets before Fastify sees a request (431 headers too large, 400
    // malformed) are answered with the error envelope too.
    clientErrorHandler,
    // Errors of the router, before any route or hook runs (a malformed URL, a path parameter over
    // `maxParamLength`): the error envelope too, instead of Fastify's own JSON.
    frameworkErrors: (err, request, reply) => {
      // Fastify runs no completion for these: the request's one line is written here, as it came in.
      request.log.info({ req: request }, 'incoming request');
      reply.header(traceHeader, request.id);
      return answerError(err, request, reply);
    },
  });
  // JSON bodies: numbers that would be rounded are refused (400 naming the field), prototype poisoning as by Fastify.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, exactJsonParser());

  app.addHook('onRequest', async (request, reply) => {
    reply.header(traceHeader, request.id);
  });

  // HTTP metrics on the service's own registry, the one `/metrics` below serves: the kit already
  // collects the default process metrics there, and the kit's route serves them (no second endpoint).
  void app.register(fastifyMetrics, {
    endpoint: null,
    defaultMetrics: { enabled: false },
    routeMetrics: {
      enabled: { histogram: true, summary: false },
      // Every request is counted, those no route matched under one label value.
      registeredRoutesOnly: false,
      overrides: {
        labels: { getRouteLabel: (request) => request.routeOptions.url ?? unmatchedRoute },
        histogram: {
          help: 'HTTP requests served, by method, route pattern and status code (seconds to the answer; _count is the request count)',
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers: [opts.metrics.registry],
        },
        // The plugin builds its summary even when disabled: registered nowhere.
        summary: { registers: [] },
      },
    },
  });

  app.setErrorHandler(answerError);

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      success: false,
      error: { code: 'NOT_FOUND', message: `Route ${request.method} ${request.url.split('?')[0]} not found` },
      trace_id: request.id,
    }),
  );

  app.get('/healthz', async (request, reply) => sendData(request, reply, { status: 'ok' }));

  app.get('/readyz', async (request, reply) => {
    const checks: Record<string, string> = {};
    // Side by side, so one slow dependency does not add its wait to the others'.
    await Promise.all(
      Object.entries(opts.readiness).map(async ([name, check]) => {
        try {
          await check();
          checks[name] = 'ok';
        } catch (err) {
          checks[name] = 'down';
          request.log.warn({ err, check: name }, 'readiness check failed');
        }
      }),
    );
    if (draining) checks.draining = 'yes';
    const notReady = Object.keys(checks).filter((name) => checks[name] !== 'ok');
    if (notReady.length === 0) return sendData(request, reply, { status: 'ready', checks });
    // The message and `details.checks` name what is not ready: a probe's log line says which dependency to look at.
    const message = `Not ready: ${notReady.map((name) => (name === 'draining' ? 'draining' : `${name} down`)).join(', ')}`;
    return reply.code(503).send({ success: false, error: { code: 'NOT_READY', message, details: { checks } }, trace_id: request.id });
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });

  return { app, setDraining: () => void (draining = true) };
}

/**
 * Every error a route, a hook or the router throws, as the error envelope: an AppError as it is;
 * request validation as VALIDATION_ERROR naming the fields; a client error of Fastify or a plugin
 * with its own status and that status's code; the database or NATS gone as 503 PSP_UNAVAILABLE
 * (a retry may work); anything else as a bare 500, logged.
 */
function answerError(err: unknown, request: FastifyRequest, reply: FastifyReply) {
  // Error envelopes are sent as they are, whatever the route declares for the status: a code
  // missing from a route's declaration must not turn the real refusal into a serialization failure.
  reply.serializer((payload: unknown) => JSON.stringify(payload)).type('application/json; charset=utf-8');
  const envelope = (code: string, message: string, details?: unknown) => ({
    success: false,
    error: details === undefined ? { code, message } : { code, message, details },
    trace_id: request.id,
  });
  if (err instanceof AppError) return reply.code(err.statusCode).send(envelope(err.code, err.message, err.details));
  if (err instanceof z.ZodError) {
    return reply.code(400).send(envelope('VALIDATION_ERROR', 'The request is invalid', { fields: fieldsOf(err) }));
  }
  const e = err as { statusCode?: number; code?: string; message?: string; validation?: unknown; validationContext?: string };
  if (Array.isArray(e.validation)) {
    return reply
      .code(400)
      .send(envelope('VALIDATION_ERROR', 'The request is invalid', { fields: validationFieldsOf(e.validation, e.validationContext) }));
  }
  if (e.code === 'FST_ERR_RESPONSE_SERIALIZATION') {
    // The answer does not match the route's declared response schema: a bug here, never the caller's fault.
    request.log.error(
      { err, issues: (err as { cause?: { issues?: unknown } }).cause?.issues },
      'answer does not match its declared schema',
    );
    return reply.code(500).send(envelope('INTERNAL', 'Internal error'));
  }
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return reply.code(e.statusCode).send(envelope(clientErrorCodeOf(e.statusCode), clientErrorMessage(e, request)));
  }
  if (isInfrastructureError(err)) {
    // The database (or a service this one needs) is gone for now: say so, and that a retry may work.
    request.log.warn({ err }, 'infrastructure unavailable');
    return reply.code(503).header('retry-after', '1').send(envelope('PSP_UNAVAILABLE', 'The service is unavailable, try again later'));
  }
  request.log.error({ err }, 'unhandled error');
  return reply.code(500).send(envelope('INTERNAL', 'Internal error'));
}

/** The message of a client error of Fastify or a plugin; the router's own never echo the URL. */
function clientErrorMessage(e: { statusCode?: number; code?: string; message?: string }, request: FastifyRequest): string {
  if (e.code === 'FST_ERR_BAD_URL') return 'The URL is malformed';
  if (e.code === 'FST_ERR_MAX_PARAM_LENGTH') return 'A path parameter is longer than the server accepts';
  if (e.statusCode === 413) return `The body is larger than the ${request.routeOptions.bodyLimit} bytes allowed`;
  if (e.statusCode === 429) return 'Too many requests';
  return e.message || 'The request was refused';
}

export interface FieldError {
  field: string;
  message: string;
}

/** One failed check as Fastify reports request validation (zod through fastify-type-provider-zod, or ajv). */
interface ValidationIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

const pointerSegment = (s: string) => s.replaceAll('~1', '/').replaceAll('~0', '~');

/**
 * The VALIDATION_ERROR `details.fields` of a failed request validation: each offending field named
 * once (its messages joined), as a dotted path; an unknown key is named itself rather than its
 * parent; the root is `(body)` (or `(querystring)`, `(params)`).
 */
export function validationFieldsOf(issues: readonly ValidationIssue[], context = 'body'): FieldError[] {
  const messages = new Map<string, string[]>();
  const add = (path: string[], message: string) => {
    const field = path.join('.') || `(${context})`;
    const list = messages.get(field) ?? [];
    if (!list.includes(message)) list.push(message);
    messages.set(field, list);
  };
  for (const issue of issues) {
    const base = (issue.instancePath ?? '').split('/').filter(Boolean).map(pointerSegment);
    const params = issue.params ?? {};
    if (issue.keyword === 'unrecognized_keys' && Array.isArray(params.keys))
      for (const key of params.keys) add([...base, String(key)], 'unknown field');
    else if (issue.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string')
      add([...base, params.additionalProperty], 'unknown field');
    else if (issue.keyword === 'required' && typeof params.missingProperty === 'string')
      add([...base, params.missingProperty], 'is required');
    else add(base, issue.message ?? 'is invalid');
  }
  return [...messages].map(([field, list]) => ({ field, message: list.join('; ') }));
}

/** Field paths of a zod error, for the VALIDATION_ERROR details (as `validationFieldsOf`). */
export function fieldsOf(err: z.ZodError): FieldError[] {
  return validationFieldsOf(
    err.issues.map((i) => ({
      instancePath: `/${i.path.map(String).join('/')}`,
      keyword: i.code,
      message: i.message,
      params: i as unknown as Record<string, unknown>,
    })),
  );
}
