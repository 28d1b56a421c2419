import type { Database } from './database.ts';
import type { ReadinessCheck } from './http.ts';
import type { Messaging } from './nats.ts';

/** `/readyz` checks for what a service stands on: its database (when it has one) and NATS. */
export function readinessOf(deps: { db?: Database; messaging: Messaging }): Record<string, ReadinessCheck> {
  const checks: Record<string, ReadinessCheck> = {
    nats: async () => {
      if (deps.messaging.nc.isClosed()) throw new Error('nats connection closed');
      await deps.messaging.nc.flush();
    },
  };
  const { db } = deps;
  if (db) checks.database = async () => void (await db.em.fork().execute('select 1'));
  return checks;
}
