import fastifyCors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/**
 * CORS for the browser origins of `CORS_ORIGINS`: an allowed origin gets
 * `Access-Control-Allow-Origin` (its own, never `*`) and its preflight is answered 204; any other
 * origin gets no CORS header at all (its preflight is 404), so the browser refuses the answer.
 * Tokens travel in the Authorization header, never in cookies: no credentials mode.
 */
export async function registerCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  const allowed = new Set(origins);
  await app.register(fastifyCors, {
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Trace-Id', 'Last-Event-ID', 'X-Dev-Secret'],
    exposedHeaders: ['X-Trace-Id', 'Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'],
    maxAge: 600,
  });
}
