import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { z } from 'zod';
import { errorEnvelope, successEnvelope } from '@offramp/contracts';

/** JSON Schema of a zod schema for the OpenAPI document (inputs as clients send them). */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, target: 'openapi-3.0', unrepresentable: 'any' });
  return rest;
}

export interface RouteDoc {
  tag: string;
  summary: string;
  body?: z.ZodType;
  query?: z.ZodType;
  params?: z.ZodType;
  /** The `data` of the success envelope; omitted for 204. */
  answer?: z.ZodType;
  status?: number;
  auth?: 'jwt' | 'dev-secret' | 'jwt+dev-secret';
}

/**
 * A route's `schema`, for the OpenAPI document only: the gateway scope turns Fastify's own
 * validation and serialization off, because bodies are parsed with zod so that errors use our envelope.
 */
export function routeSchema(doc: RouteDoc): FastifySchema {
  const status = doc.status ?? 200;
  const security = { jwt: [{ bearerAuth: [] }], 'dev-secret': [{ devSecret: [] }], 'jwt+dev-secret': [{ bearerAuth: [], devSecret: [] }] }[doc.auth ?? 'jwt'];
  return {
    tags: [doc.tag],
    summary: doc.summary,
    ...(doc.body && { body: jsonSchemaOf(doc.body, 'input') }),
    ...(doc.query && { querystring: jsonSchemaOf(doc.query, 'input') }),
    ...(doc.params && { params: jsonSchemaOf(doc.params, 'input') }),
    response: {
      [status]: doc.answer ? jsonSchemaOf(successEnvelope(doc.answer), 'output') : { type: 'null', description: 'No content' },
      '4xx': jsonSchemaOf(errorEnvelope, 'output'),
      '5xx': jsonSchemaOf(errorEnvelope, 'output'),
    },
    security,
  } as FastifySchema;
}

/** OpenAPI document at /docs/json, UI at /docs. Register before the routes it describes. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Offramp gateway', version: '1.0.0', description: 'Public HTTP edge: widget and QA routes (API.md).' },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          devSecret: { type: 'apiKey', in: 'header', name: 'X-Dev-Secret' },
        },
      },
    },
    hideUntagged: true,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
}
