import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { createJsonSchemaTransform } from 'fastify-type-provider-zod';
import type { OpenAPIV3_1 } from 'openapi-types';
import { z } from 'zod';
import { decimalString, errorCatalogue, type ErrorCode } from '@offramp/contracts';

/*
 * One declaration per route: its zod body, querystring, params and per-status answers validate the
 * request, type the handler, check the answer when it is serialized and make the OpenAPI document
 * (`/docs/json`). The error answers of each status list the catalogue codes that route can return.
 */

/** Who may call an operation; it sets the security requirement and the refusals every such route has. */
export type Access = 'trader' | 'admin' | 'dev' | 'dev-token' | 'partner';

/** An error code with the status it is answered with, when that differs from the catalogue's (Alfred's 409 or 422). */
export type ErrorSpec = ErrorCode | [ErrorCode, number];

export interface OperationSpec<B extends z.ZodType | undefined, Q extends z.ZodType | undefined, P extends z.ZodType | undefined> {
  operationId: string;
  summary: string;
  description?: string;
  tag: Tag;
  access: Access;
  body?: B;
  querystring?: Q;
  params?: P;
  /** 200 unless said; 204 answers have no body. */
  status?: 200 | 201 | 204;
  /** The `data` of the success envelope. */
  answer?: z.ZodType;
  /** Refusals of this route besides those every route of its access has. */
  errors?: ErrorSpec[];
  examples?: { body?: unknown; answer?: unknown };
  /** The 200 answer may also be CSV (`text/csv`), with this description and example. */
  csv?: { description: string; example: string };
  /** Four-eyes: the action may instead answer 202 with this `data` (the pending approval). */
  pending?: { answer: z.ZodType; description: string; example?: unknown };
}

export const tags = {
  eligibility: 'Whether the trader may withdraw, the payment routes of their country, indicative quotes',
  'fiat-accounts': "The trader's bank accounts at Alfred, per rail",
  withdrawals: 'Sessions (intent and quote) and withdrawals with their status timeline',
  balances: "The trader's USDT balance: available and held",
  events: "The trader's notifications as Server-Sent Events",
  qa: 'QA actions (only with DEV_ENDPOINTS=true and the X-Dev-Secret header; 404 otherwise)',
  admin: 'Operators (JWT with role "admin"): withdrawals, actions, the freeze switch, reconciliation, the exception queue',
  partner: 'The server-to-server partner API: signed withdrawal requests (`x-api-key`, `x-payload-hash`) and their state',
} as const;
export type Tag = keyof typeof tags;

const fieldError = z.object({ field: z.string(), message: z.string() });
const money = decimalString;

/**
 * What `details` carries, per code; every property is optional because a code may come from
 * several places. Amounts are decimal strings, never JSON numbers.
 */
const detailsByCode: Partial<Record<ErrorCode, z.ZodRawShape>> = {
  VALIDATION_ERROR: { fields: z.array(fieldError), partnerCode: z.number().int() },
  FIAT_ACCOUNT_INVALID: { fields: z.array(z.string()), issues: z.array(z.unknown()), partnerCode: z.number().int() },
  FIAT_ACCOUNT_DUPLICATE: { partnerCode: z.number().int() },
  ALFRED_BANK_USA_UNAVAILABLE: { partnerCode: z.number().int() },
  LIMIT_EXCEEDED: {
    limit: z.string(),
    limitValue: money,
    requested: money,
    used: money,
    currency: z.string(),
    violations: z.array(z.string()),
    partnerCode: z.number().int(),
    min: money,
    max: money,
  },
  USER_NOT_VERIFIED: { reason: z.string(), fallback: z.object({ fields: z.array(z.string()), documents: z.array(z.string()) }) },
  ALFRED_INCORRECT_STATUS_CHANGE: { from: z.string(), to: z.string() },
  RATE_LIMITED: { retryAfterSeconds: z.number().int() },
  PSP_UNAVAILABLE: { outcome: z.literal('unknown'), retry_with: z.object({ session_id: z.uuid() }) },
};

/** The refusals every route of an access level can answer, besides its own. */
const commonErrors: Record<Access, ErrorCode[]> = {
  trader: ['UNAUTHORIZED', 'RATE_LIMITED', 'INTERNAL', 'PSP_UNAVAILABLE'],
  admin: ['UNAUTHORIZED', 'FORBIDDEN', 'RATE_LIMITED', 'INTERNAL', 'PSP_UNAVAILABLE'],
  dev: ['NOT_FOUND', 'UNAUTHORIZED', 'RATE_LIMITED', 'INTERNAL', 'PSP_UNAVAILABLE'],
  'dev-token': ['NOT_FOUND', 'RATE_LIMITED', 'INTERNAL'],
  partner: ['PARTNER_UNAUTHORIZED', 'PARTNER_SIGNATURE_INVALID', 'PARTNER_DISABLED', 'RATE_LIMITED', 'INTERNAL', 'PSP_UNAVAILABLE'],
};

const securityOf: Record<Access, OpenAPIV3_1.SecurityRequirementObject[]> = {
  trader: [{ bearerAuth: [] }],
  admin: [{ bearerAuth: [] }],
  dev: [{ bearerAuth: [], devSecret: [] }],
  'dev-token': [{ devSecret: [] }],
  partner: [{ partnerApiKey: [], partnerPayloadHash: [] }],
};

const errorDescriptions: Record<number, string> = {
  400: 'The request is invalid: `details.fields` names each offending field once',
  401: 'No valid bearer token',
  403: 'Refused for this caller',
  404: 'Not found',
  408: 'The request was not received in time',
  409: 'Conflicts with the current state',
  410: 'Gone',
  413: 'The body is larger than the gateway accepts',
  414: 'A path parameter is longer than the gateway accepts',
  415: 'The body is neither JSON nor plain text',
  422: 'Refused by a business rule',
  423: 'Withdrawals are frozen',
  429: 'Too many requests: retry after `Retry-After` seconds',
  500: 'Internal error (a bug; logged with the trace id)',
  503: 'A service or the payment provider did not answer: retry later',
};

/** The error envelope of one status: `error.code` is one of `codes`. */
export function errorEnvelope(status: number, codes: readonly ErrorCode[]) {
  const shape: Record<string, z.ZodType> = {};
  for (const code of codes)
    for (const [key, schema] of Object.entries(detailsByCode[code] ?? {})) shape[key] ??= (schema as z.ZodType).optional();
  const first = codes[0]!;
  return z
    .object({
      success: z.literal(false),
      error: z.object({
        code: z.enum(codes as [ErrorCode, ...ErrorCode[]]),
        message: z.string(),
        details: z.looseObject(shape).optional(),
      }),
      trace_id: z.string(),
    })
    .meta({
      description: `${status === 401 && codes.every((c) => c.startsWith('PARTNER_')) ? 'The partner API key or signature is refused' : (errorDescriptions[status] ?? 'Refused')}: ${codes.join(', ')}`,
      examples: [
        {
          success: false,
          error: { code: first, message: errorCatalogue[first].message },
          trace_id: '0197a3c2-5f7e-7c3a-9d41-2b6f0e8a1c55',
        },
      ],
    });
}

/** The success envelope around `data`. */
export function successEnvelope(data: z.ZodType, description: string, example?: unknown) {
  return z.object({ success: z.literal(true), data, trace_id: z.string() }).meta({
    description,
    ...(example !== undefined && { examples: [{ success: true, data: example, trace_id: '0197a3c2-5f7e-7c3a-9d41-2b6f0e8a1c55' }] }),
  });
}

/** The error responses of a route, grouped by status. */
export function errorResponses(errors: readonly ErrorSpec[]): Record<number, z.ZodType> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const spec of errors) {
    const [code, status] = Array.isArray(spec) ? spec : [spec, errorCatalogue[spec].status];
    const codes = byStatus.get(status) ?? [];
    if (!codes.includes(code)) codes.push(code);
    byStatus.set(status, codes);
  }
  return Object.fromEntries([...byStatus].sort(([a], [b]) => a - b).map(([status, codes]) => [status, errorEnvelope(status, codes)]));
}

/** Whether a body schema accepts no body at all (then the OpenAPI says the request body is optional). */
const acceptsNothing = (schema: z.ZodType) => schema.safeParse(undefined).success;

/**
 * The route `schema` of one operation: zod schemas that Fastify validates with and serializes
 * through, and the OpenAPI metadata. `body`, `querystring` and `params` keep their zod types, so
 * the handler's `request.body` is the parsed output.
 */
export function operation<
  B extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  P extends z.ZodType | undefined = undefined,
>(spec: OperationSpec<B, Q, P>) {
  const status = spec.status ?? 200;
  const inputs = spec.body || spec.querystring || spec.params;
  const errors: ErrorSpec[] = [
    ...(inputs || spec.access === 'dev-token' ? (['VALIDATION_ERROR'] as const) : []),
    ...(spec.body ? (['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'] as const) : []),
    // The router refuses a path parameter over its limit (100 characters) before the route runs.
    ...(spec.params ? (['URI_TOO_LONG'] as const) : []),
    ...commonErrors[spec.access],
    ...(spec.errors ?? []),
  ];
  const success =
    status === 204
      ? z.undefined().meta({ description: 'Done; no body' })
      : successEnvelope(spec.answer ?? z.unknown(), spec.summary, spec.examples?.answer);
  // Fastify hands a request without a body to the validator as `null`: a body that may be left
  // out accepts null too (documented as the object alone, with the request body optional).
  const optionalBody = spec.body !== undefined && acceptsNothing(spec.body);
  const body = spec.body && (optionalBody ? spec.body.nullable().meta({ 'x-absent-body': true }) : spec.body);
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description && { description: spec.description }),
    tags: [spec.tag],
    security: securityOf[spec.access],
    ...(optionalBody && { 'x-body-optional': true }),
    ...(spec.body && spec.examples?.body !== undefined && { 'x-body-example': spec.examples.body }),
    ...(spec.csv && { 'x-csv': spec.csv }),
    // Absent inputs are left out: Fastify warns about a present key without a schema.
    ...(body && { body }),
    ...(spec.querystring && { querystring: spec.querystring }),
    ...(spec.params && { params: spec.params }),
    response: {
      [status]: success,
      ...(spec.pending && { 202: successEnvelope(spec.pending.answer, spec.pending.description, spec.pending.example) }),
      ...errorResponses(errors),
    } as Record<number, z.ZodType>,
  } as {
    operationId: string;
    summary: string;
    tags: Tag[];
    security: OpenAPIV3_1.SecurityRequirementObject[];
    body: B;
    querystring: Q;
    params: P;
    response: Record<number, z.ZodType>;
  };
}

/**
 * Query parameters travel as strings; the contracts validate their text (so `1e2` is not a page)
 * and mark integers with `x-integer` metadata: the document shows them as the integers they are.
 */
function override(ctx: { zodSchema: unknown; jsonSchema: Record<string, unknown> }): void {
  const json = ctx.jsonSchema;
  const def = (ctx.zodSchema as { _zod: { def: { type: string } } })._zod.def;
  if (def.type === 'union' && Array.isArray(json.anyOf)) json.anyOf = json.anyOf.filter((s) => Object.keys(s as object).length > 0);
  // A 204 answer (`z.undefined()`) has no body.
  if (def.type === 'undefined') json.type = 'null';
  if (json['x-absent-body'] && Array.isArray(json.anyOf)) {
    const [present] = json.anyOf.filter((s) => (s as { type?: unknown }).type !== 'null');
    delete json.anyOf;
    delete json['x-absent-body'];
    Object.assign(json, present);
  }
  const integer = json['x-integer'] as { minimum: number; maximum: number; default?: number } | undefined;
  if (integer) {
    for (const key of Object.keys(json)) if (key !== 'description') Reflect.deleteProperty(json, key);
    Object.assign(json, { type: 'integer', ...integer });
  }
}

/**
 * What the route declarations say about request bodies beyond their schema: `x-body-optional`
 * (Fastify's swagger marks every body required) and `x-body-example` (the example of the body);
 * and `x-csv`: the 200 answer may also be `text/csv`.
 */
function describeBodies(document: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
  for (const item of Object.values(document.paths ?? {})) {
    for (const op of Object.values(item ?? {}) as (OpenAPIV3_1.OperationObject & {
      'x-body-optional'?: boolean;
      'x-body-example'?: unknown;
      'x-csv'?: { description: string; example: string };
    })[]) {
      if (typeof op !== 'object' || op === null || !('responses' in op)) continue;
      const body = op.requestBody && 'content' in op.requestBody ? op.requestBody : undefined;
      if (op['x-body-optional'] && body) body.required = false;
      const media = body?.content['application/json'];
      if (op['x-body-example'] !== undefined && media) media.example = op['x-body-example'];
      const csv = op['x-csv'];
      const ok = op.responses?.['200'];
      if (csv && ok && 'content' in ok && ok.content)
        ok.content['text/csv'] = { schema: { type: 'string', description: csv.description }, example: csv.example };
      delete op['x-body-optional'];
      delete op['x-body-example'];
      delete op['x-csv'];
    }
  }
  return document;
}

type Transform = ReturnType<typeof createJsonSchemaTransform>;

/**
 * A route declared in plain JSON Schema (the event stream) keeps its declaration; what it leaves
 * out gets the protected scope's defaults: an operationId from its method and path, and the
 * refusals every trader route has (401, 429, 500, 503).
 */
function plainRoute(document: Parameters<Transform>[0], transform: Transform) {
  const schema = document.schema as Record<string, unknown> | undefined;
  if (!schema || schema.hide) return { schema: document.schema, url: document.url };
  const words = `${document.route.method} ${document.url}`
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  const operationId = words.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');
  const defaults = transform({ ...document, schema: { response: errorResponses(commonErrors.trader) } as never }).schema as {
    response: Record<string, unknown>;
  };
  const response = (schema.response as Record<string, unknown> | undefined) ?? {};
  return { schema: { operationId, ...schema, response: { ...defaults.response, ...response } } as never, url: document.url };
}

function isZodDeclared(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return false;
  const { body, querystring, params, response } = schema as Record<string, unknown>;
  return [body, querystring, params, ...Object.values((response as Record<string, unknown> | undefined) ?? {})].some(
    (s) => s instanceof z.ZodType,
  );
}

export interface OpenApiOptions {
  /** Where the document says the API is served. */
  servers?: { url: string; description: string }[];
}

/** Relative: the host that serves this document (`npm start` and `docker compose up` serve the gateway on :8080). */
export const defaultServers = [{ url: '/', description: 'The gateway that serves this document' }];

/** OpenAPI 3.1 document at /docs/json, UI at /docs. Register before the routes it describes. */
export async function registerOpenApi(app: FastifyInstance, opts: OpenApiOptions = {}): Promise<void> {
  const transform = createJsonSchemaTransform({
    skipList: ['/docs', '/docs/', '/docs/json', '/docs/yaml', '/docs/static/*', '/docs/initOAuth', '/docs/uiConfig', '/docs/*'],
    zodToJsonConfig: { target: 'draft-2020-12', override: (ctx) => override(ctx as never) },
  });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Offramp gateway',
        version: '1.0.0',
        description:
          "The public HTTP edge of Offramp: the widget's routes (trader JWT), the operators' routes (JWT with role admin) and the QA routes. " +
          'Every answer is an envelope: `{success: true, data, trace_id}` or `{success: false, error: {code, message, details?}, trace_id}`; ' +
          'amounts are decimal strings. The error codes each operation can answer are listed per status.',
        license: { name: 'MIT', identifier: 'MIT' },
        contact: { name: 'Offramp maintainers' },
      },
      servers: opts.servers ?? defaultServers,
      tags: Object.entries(tags).map(([name, description]) => ({ name, description })),
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'The trader is the JWT `sub`; operators carry `role: "admin"`',
          },
          devSecret: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Dev-Secret',
            description: 'The DEV_SECRET of a gateway started with DEV_ENDPOINTS=true',
          },
          partnerApiKey: {
            type: 'apiKey',
            in: 'header',
            name: 'x-api-key',
            description: "The partner's key id (`api_key_id` of `POST /api/admin/partners`)",
          },
          partnerPayloadHash: {
            type: 'apiKey',
            in: 'header',
            name: 'x-payload-hash',
            description:
              "HMAC-SHA256 with the partner's secret (`api_secret` of `POST /api/admin/partners`), lowercase hex (or base64), over the exact raw body of a POST, or the request target (path and query string as sent, e.g. `/partner/v1/withdrawal-requests/wr-1`) of a GET",
          },
        },
      },
    },
    hideUntagged: true,
    // Inputs are documented as clients send them, answers as the server sends them. A route
    // declared in plain JSON Schema (the event stream) is documented as it is.
    transform: (document) => (isZodDeclared(document.schema) ? transform(document) : plainRoute(document, transform)),
    transformObject: (documentObject) => describeBodies((documentObject as { openapiObject: OpenAPIV3_1.Document }).openapiObject),
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
}
