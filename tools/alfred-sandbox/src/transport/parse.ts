import type { z } from 'zod';
import { AlfredError, refuse } from './refusals.ts';

/** Field paths of a zod error, as the partner names them in `errorMetadata.fields`. */
export const fieldNames = (error: z.ZodError) => [...new Set(error.issues.map((issue) => issue.path.join('.') || '(body)'))];

/** Parses a request part with its schema; a mismatch is a 400 naming the bad fields. */
export function parseOrRefuse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new AlfredError(refuse('bad_request', { fields: fieldNames(result.error) }));
}
