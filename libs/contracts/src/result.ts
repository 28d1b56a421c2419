import { z } from 'zod';
import { errorCodes, type ErrorCode } from './errors.ts';

/**
 * What a service rpc answers when the caller may be refused for a reason the edge shows to users:
 * the data, or one code of the public error catalogue (with an optional HTTP status override, as
 * for ALFRED_BANK_USA_UNAVAILABLE which keeps Alfred's 409 or 422).
 */
export const serviceError = z.object({
  code: z.enum(errorCodes as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  status: z.number().int().min(400).max(599).optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ServiceError = z.infer<typeof serviceError>;

export function serviceResult<S extends z.ZodType>(data: S) {
  return z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), data }), z.object({ ok: z.literal(false), error: serviceError })]);
}

export type ServiceResult<T> = { ok: true; data: T } | { ok: false; error: ServiceError };

export const ok = <T>(data: T): ServiceResult<T> => ({ ok: true, data });
export const refuse = (
  code: ErrorCode,
  message: string,
  extra: { status?: number; details?: Record<string, unknown> } = {},
): { ok: false; error: ServiceError } => ({
  ok: false,
  error: { code, message, ...extra },
});
