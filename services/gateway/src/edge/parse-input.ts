import type { z } from 'zod';
import { AppError } from '@offramp/kit';

export interface FieldError {
  field: string;
  message: string;
}

/** Parses a body, query or params; a failure is 400 VALIDATION_ERROR naming every offending field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new AppError('VALIDATION_ERROR', 'The request is invalid', { details: { fields: fieldErrorsOf(result.error) } });
}

/** One entry per offending field; an unknown key is named itself rather than its parent. */
export function fieldErrorsOf(error: z.ZodError): FieldError[] {
  const fields: FieldError[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) fields.push({ field: [...base, key].join('.'), message: 'unknown field' });
    } else {
      fields.push({ field: base.join('.') || '(body)', message: issue.message });
    }
  }
  return fields;
}
