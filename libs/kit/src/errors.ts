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
