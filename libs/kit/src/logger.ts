import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Paths never written to logs: secrets, tokens, bank numbers, documents, pix keys. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers["x-dev-secret"]',
  'req.headers["api-key"]',
  'req.headers["api-secret"]',
  'req.headers.cookie',
  '*.password',
  '*.token',
  '*.apiKey',
  '*.apiSecret',
  '*.webhookSecret',
  '*.api_secret',
  '*.webhook_secret',
  '*.secret',
  '*.accountNumber',
  '*.documentNumber',
  '*.dni',
  '*.pixKey',
  '*.routingNumber',
  '*.*.accountNumber',
  '*.*.documentNumber',
  '*.*.pixKey',
  'DATABASE_URL',
  '*.DATABASE_URL',
];

/**
 * The URL as logs may show it: the path, and the query with every value replaced, so a token,
 * ticket or any secret sent in a URL never reaches the logs (`/events?ticket=[redacted]`). A query
 * part without `=` may itself be the secret, so it is replaced whole.
 */
export function redactUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const q = url.indexOf('?');
  if (q === -1) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      return eq === -1 ? (part === '' ? '' : '[redacted]') : `${part.slice(0, eq)}=[redacted]`;
    })
    .join('&');
  return `${url.slice(0, q)}?${query}`;
}

interface LoggedRequest {
  method?: string;
  url?: string;
  ip?: string;
  host?: string;
  headers?: Record<string, unknown>;
  socket?: { remoteAddress?: string; remotePort?: number } | null;
}

/**
 * The `req` of request log lines (Fastify's fields, for a Fastify request or a bare
 * IncomingMessage), with the query string's values redacted.
 */
export function requestSerializer(req: LoggedRequest) {
  return {
    method: req.method,
    url: redactUrl(req.url),
    version: req.headers?.['accept-version'],
    host: req.host ?? req.headers?.host,
    remoteAddress: req.ip ?? req.socket?.remoteAddress,
    remotePort: req.socket?.remotePort,
  };
}

export function createLogger(opts: { name: string; level?: string; destination?: DestinationStream }): Logger {
  const options = {
    name: opts.name,
    level: opts.level ?? 'info',
    redact: { paths: redactPaths, censor: '[redacted]' },
    // Fastify keeps a logger instance's own serializers over its defaults.
    serializers: { req: requestSerializer },
    base: { service: opts.name },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
