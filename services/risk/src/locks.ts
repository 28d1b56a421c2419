import { z } from 'zod';
import { queryRow, type EntityManager } from '@offramp/kit';

/** Serializes the callers of one key until the end of the caller's transaction (a Postgres advisory lock). */
export async function lockUntilCommit(em: EntityManager, key: string): Promise<void> {
  await queryRow(em, z.object({ locked: z.literal(true) }), 'select true as locked from pg_advisory_xact_lock(hashtext(?))', [key]);
}
