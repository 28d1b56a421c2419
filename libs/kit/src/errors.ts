import { errorCatalogue, type ErrorCode } from '@offramp/contracts';

/** The one error type the edge turns into the response envelope. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message?: string, opts: { statusCode?: number; details?: unknown } = {}) {
    super(message ?? errorCatalogue[code].message);
    this.name = 'AppError';
    this.code = code;
    this.statusCode = opts.statusCode ?? errorCatalogue[code].status;
    this.details = opts.details;
  }
}

/**
 * The code of a client error raised by Fastify or a plugin rather than as an AppError: each status
 * keeps its own code (a 415 is not a validation error); a status no code names answers
 * REQUEST_REFUSED with that status. 400 stays VALIDATION_ERROR: Fastify's 400s are malformed input.
 */
const codeOfClientStatus: Partial<Record<number, ErrorCode>> = {
  400: 'VALIDATION_ERROR',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  431: 'HEADERS_TOO_LARGE',
};

export function clientErrorCodeOf(status: number): ErrorCode {
  return codeOfClientStatus[status] ?? 'REQUEST_REFUSED';
}
