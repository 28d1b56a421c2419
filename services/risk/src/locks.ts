import { z } from 'zod';
import { queryRowsBound, type EntityManager } from '@offramp/kit';

const lockedRow = z.object({ locked: z.literal(true) });

/**
 * Serializes the callers of one key until the end of the caller's transaction (a Postgres advisory
 * lock). Its parameter bound on a fixed text: parsed once per connection, not on every decision.
 */
export async function lockUntilCommit(em: EntityManager, key: string): Promise<void> {
  const [row] = await queryRowsBound(em, lockedRow, 'select true as locked from pg_advisory_xact_lock(hashtext($1::text))', [key]);
  if (!row) throw new Error('the advisory lock statement returned no row');
}
