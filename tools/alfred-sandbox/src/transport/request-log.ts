import type { FastifyInstance, FastifyRequest } from 'fastify';
import { appendBounded, type SandboxState } from '../state.ts';

/** Where Alfred's partner API lives; only the host differs between sandbox and production. */
export const basePath = '/api/v1/third-party-service/penny';

export const pathOf = (request: FastifyRequest) => request.url.split('?')[0] ?? request.url;

export const isPartnerPath = (path: string) => path === basePath || path.startsWith(`${basePath}/`);

/** A prefix matches the full path or the path after the base path (`/offramp` and `/api/v1/…/offramp` alike). */
export const matchesPrefix = (path: string, prefix: string) =>
  path.startsWith(prefix) || (isPartnerPath(path) && path.slice(basePath.length).startsWith(prefix));

/** One partner-API call as the emulator saw it; tests count calls with these. */
export interface RequestRecord {
  method: string;
  path: string;
  statusCode: number | null;
  fault: string | null;
  at: string;
}

const records = new WeakMap<FastifyRequest, RequestRecord>();

export const recordOf = (request: FastifyRequest) => records.get(request);

/** Logs every partner-API call (emulator controls are not Alfred and are left out). */
export function registerRequestLog(app: FastifyInstance, deps: { state: SandboxState; now: () => Date }): void {
  app.addHook('onRequest', async (request) => {
    const path = pathOf(request);
    if (!isPartnerPath(path)) return;
    const record: RequestRecord = { method: request.method, path, statusCode: null, fault: null, at: deps.now().toISOString() };
    records.set(request, record);
    appendBounded(deps.state.requests, record);
  });
  app.addHook('onResponse', async (request, reply) => {
    const record = records.get(request);
    if (record) record.statusCode = reply.statusCode;
  });
}
