import type { Database } from './database.ts';
import type { ReadinessCheck } from './http.ts';
import type { Messaging } from './nats.ts';

/**
 * `/readyz` checks for what a service stands on: its database (when it has one) and NATS. Each
 * check answers within `timeoutMs` (2 s by default): a database that is gone or whose pool cannot
 * hand out a connection makes readiness 503 at once instead of hanging, and the next probe after
 * it is back answers 200 with nothing to reset (the pool drops dead connections by itself).
 */
export function readinessOf(deps: { db?: Database; messaging: Messaging; timeoutMs?: number }): Record<string, ReadinessCheck> {
  const timeoutMs = deps.timeoutMs ?? 2_000;
  const checks: Record<string, ReadinessCheck> = {
    nats: withDeadline('nats', timeoutMs, async () => {
      if (deps.messaging.nc.isClosed()) throw new Error('nats connection closed');
      await deps.messaging.nc.flush();
    }),
  };
  const { db } = deps;
  if (db) checks.database = withDeadline('database', timeoutMs, async () => void (await db.em.fork().execute('select 1')));
  return checks;
}

/** A check that fails when it has not passed within `ms`. */
export function withDeadline(name: string, ms: number, check: ReadinessCheck): ReadinessCheck {
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${name} did not answer within ${ms} ms`)), ms);
    });
    try {
      await Promise.race([check(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
}
