import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The operator console (`/console`, always: it is only a page, the API enforces the admin role)
 * and the Dev playground (`/playground`, only with the QA endpoints). Plain HTML, CSS and ES
 * modules from `static/`, read once at start and served from memory: no build step, no file
 * system access per request, and no path a request can steer outside the folder.
 */

const staticRoot = new URL('./static/', import.meta.url);

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** The files of one folder under static/ (not recursive), by file name. */
function loadFolder(folder: string): Map<string, Asset> {
  const dir = new URL(`${folder}/`, staticRoot);
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = contentTypes[extname(name)];
    if (!type) continue;
    const body = readFileSync(new URL(name, dir));
    assets.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });
  }
  return assets;
}

/**
 * Scripts and styles only from this origin and nothing inline, so that a token kept in
 * localStorage cannot be read by injected markup; the playground may call another base URL.
 */
function contentSecurityPolicy(connectAnywhere: boolean): string {
  const connect = connectAnywhere ? "'self' http: https:" : "'self'";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${connect}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset, csp: string) {
  reply
    .header('content-type', asset.type)
    .header('cache-control', 'no-cache')
    .header('etag', asset.etag)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('content-security-policy', csp);
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  return reply.send(asset.body);
}

/** One page at `path` (its index.html) and its folder's assets under `/pages/<folder>/`. */
function servePage(app: FastifyInstance, opts: { path: string; folder: string; csp: string }) {
  const assets = loadFolder(opts.folder);
  const index = assets.get('index.html');
  if (!index) throw new Error(`pages: static/${opts.folder}/index.html is missing`);
  app.get(opts.path, (request, reply) => send(request, reply, index, opts.csp));
  serveAssets(app, opts.folder, assets, opts.csp);
}

function serveAssets(app: FastifyInstance, folder: string, assets: Map<string, Asset>, csp: string) {
  app.get<{ Params: { name: string } }>(`/pages/${folder}/:name`, (request, reply) => {
    const asset = assets.get(request.params.name);
    if (!asset || request.params.name === 'index.html') return reply.callNotFound();
    return send(request, reply, asset, csp);
  });
}

export interface PagesDeps {
  /** Whether the QA endpoints are mounted; the playground exists only then (404 otherwise). */
  playground: boolean;
}

/** Registers the console, and the playground when enabled. Untagged, so absent from OpenAPI. */
export function pageRoutes(deps: PagesDeps) {
  return async (app: FastifyInstance) => {
    serveAssets(app, 'common', loadFolder('common'), contentSecurityPolicy(false));
    servePage(app, { path: '/console', folder: 'console', csp: contentSecurityPolicy(false) });
    if (deps.playground) servePage(app, { path: '/playground', folder: 'playground', csp: contentSecurityPolicy(true) });
  };
}
