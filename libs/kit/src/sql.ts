import type { z } from 'zod';
import type { EntityManager } from './database.ts';

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
  const rows = await em.execute<unknown[]>(sql, params as unknown[]);
  return rows.map((r, i) => {
    const parsed = row.safeParse(r);
    if (!parsed.success)
      throw new Error(
        `row ${i} of a query does not have the expected shape: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`,
      );
    return parsed.data;
  });
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
