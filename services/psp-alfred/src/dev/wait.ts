import { setTimeout as sleep } from 'node:timers/promises';

/** The key of a stored webhook: its reference and status. */
export const storedKey = (referenceId: string, status: string) => `${referenceId}:${status}`;

/**
 * Told each time a webhook was stored (the webhook route, once it committed), by `storedKey`: what a
 * QA action waiting for Alfred's webhook of one reference and status checks again on, instead of
 * polling the database on a short timer.
 */
export interface StoredSignal {
  notify(key: string): void;
  /** Resolves when a webhook of `key` was stored, or after `ms` at the latest. */
  next(key: string, ms: number): Promise<void>;
}

export function createStoredSignal(): StoredSignal {
  const waiting = new Map<string, Set<() => void>>();
  return {
    notify(key) {
      const woken = waiting.get(key);
      waiting.delete(key);
      for (const wake of woken ?? []) wake();
    },
    next(key, ms) {
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          const set = waiting.get(key);
          set?.delete(done);
          if (set?.size === 0) waiting.delete(key);
          resolve();
        }
        const set = waiting.get(key) ?? new Set();
        set.add(done);
        waiting.set(key, set);
      });
    },
  };
}

/**
 * Checks `done` until it holds or `timeoutMs` passed; whether it held. With `on` (a signal and the
 * key of the awaited webhook), checks again when that webhook was stored (and every 500 ms in case
 * one is missed); without, every 50 ms.
 */
export async function waitFor(
  timeoutMs: number,
  done: () => Promise<boolean>,
  on?: { signal: StoredSignal; key: string },
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Armed before the check, so a webhook stored while it runs is not missed.
    const stored = on?.signal.next(on.key, Math.min(500, Math.max(0, deadline - Date.now())));
    if (await done()) return true;
    if (Date.now() >= deadline) return false;
    await (stored ?? sleep(50));
  }
}
