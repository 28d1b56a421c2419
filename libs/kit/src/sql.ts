import { CompiledQuery } from 'kysely';
import type { z } from 'zod';
import { preparedName, type EntityManager } from './database.ts';

/**
 * Raw SQL where each guard must be one visible statement (ledger transfers and balances, outbox,
 * inbox, `skip locked` claims): the rows are parsed with the caller's zod schema, so a column that
 * changed type, a jsonb of the wrong shape or a forgotten `::text` fails loudly here instead of
 * travelling on as a wrong value behind an unchecked cast.
 */
export async function queryRows<S extends z.ZodType>(
  em: EntityManager,
  row: S,
  sql: string,
  params: readonly unknown[] = [],
): Promise<z.output<S>[]> {
  return parseRows(row, await em.execute<unknown[]>(sql, params as unknown[]));
}

/** Each row parsed with the caller's schema; the first that does not fit fails the query. */
function parseRows<S extends z.ZodType>(row: S, rows: readonly unknown[]): z.output<S>[] {
  return rows.map((r, i) => {
    const parsed = row.safeParse(r);
    if (!parsed.success)
      throw new Error(
        `row ${i} of a query does not have the expected shape: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`,
      );
    return parsed.data;
  });
}

/**
 * `queryRows` with its parameters bound by Postgres (`$1`, `$2`, … sent apart from the SQL text)
 * instead of inlined: `em.execute` escapes every parameter into the text literal by literal, which
 * for a statement carrying large values (a webhook batch's raw bodies and outbox envelopes) costs
 * more CPU than anything else the statement does. Runs on the caller's transaction (the kysely
 * transaction MikroORM holds for `em`), so it commits or rolls back with the rest; Postgres errors
 * come as pg raises them (their SQLSTATE is what `isInfrastructureError` reads). The text is sent
 * as a named prepared statement (`preparedName`), so it must be fixed: values go in `params`.
 */
export async function queryRowsBound<S extends z.ZodType>(
  em: EntityManager,
  row: S,
  sql: string,
  params: readonly unknown[],
): Promise<z.output<S>[]> {
  preparedName(sql);
  const result = await em.getKysely().executeQuery(CompiledQuery.raw(sql, [...params]));
  return parseRows(row, result.rows);
}

/** A statement whose rows nobody reads, its parameters bound as `queryRowsBound`'s. */
export async function executeBound(em: EntityManager, sql: string, params: readonly unknown[]): Promise<void> {
  preparedName(sql);
  await em.getKysely().executeQuery(CompiledQuery.raw(sql, [...params]));
}

/** The one row a query returns, or null; more than one is a bug. */
export async function queryRow<S extends z.ZodType>(
  em: EntityManager,
  row: S,
  sql: string,
  params: readonly unknown[] = [],
): Promise<z.output<S> | null> {
  const rows = await queryRows(em, row, sql, params);
  if (rows.length > 1) throw new Error(`expected at most one row, got ${rows.length}`);
  return rows[0] ?? null;
}
