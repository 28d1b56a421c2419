import { CompiledQuery } from 'kysely';
import type { z } from 'zod';
import type { EntityManager } from '@offramp/kit';

/**
 * `queryRows` with its parameters bound by Postgres (`$1`, `$2`, … sent apart from the SQL text)
 * instead of inlined: `em.execute` escapes every parameter into the text literal by literal, which
 * for a webhook batch's JSON (its raw bodies, its outbox envelopes) cost more of psp-alfred's CPU
 * than anything else the statement did, and sent the batch twice as escaped text. Runs on the
 * caller's transaction (the kysely transaction MikroORM holds for `em`), so it commits or rolls
 * back with the rest; Postgres errors come as pg raises them (their SQLSTATE is what
 * `isInfrastructureError` reads). The rows are parsed with the caller's zod schema, as `queryRows`.
 */
export async function queryBound<S extends z.ZodType>(
  em: EntityManager,
  row: S,
  sql: string,
  params: readonly unknown[],
): Promise<z.output<S>[]> {
  const result = await em.getKysely().executeQuery(CompiledQuery.raw(sql, [...params]));
  return result.rows.map((r, i) => {
    const parsed = row.safeParse(r);
    if (!parsed.success)
      throw new Error(
        `row ${i} of a query does not have the expected shape: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`,
      );
    return parsed.data;
  });
}

/** A statement whose rows nobody reads, its parameters bound as `queryBound`'s. */
export async function executeBound(em: EntityManager, sql: string, params: readonly unknown[]): Promise<void> {
  await em.getKysely().executeQuery(CompiledQuery.raw(sql, [...params]));
}
