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

export function createLogger(opts: { name: string; level?: string; destination?: DestinationStream }): Logger {
  const options = {
    name: opts.name,
    level: opts.level ?? 'info',
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: { service: opts.name },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
