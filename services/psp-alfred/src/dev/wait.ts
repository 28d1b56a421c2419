import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Told each time webhooks were stored (the webhook route's commit): what a QA action waiting for
 * Alfred's webhook checks again on, instead of polling the database on a short timer.
 */
export interface StoredSignal {
  notify(): void;
  /** Resolves at the next notify, or after `ms` at the latest. */
  next(ms: number): Promise<void>;
}

export function createStoredSignal(): StoredSignal {
  let waiters: (() => void)[] = [];
  return {
    notify() {
      const woken = waiters;
      waiters = [];
      for (const wake of woken) wake();
    },
    next(ms) {
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          waiters = waiters.filter((w) => w !== done);
          resolve();
        }
        waiters.push(done);
      });
    },
  };
}

/**
 * Checks `done` until it holds or `timeoutMs` passed; whether it held. With `signal`, checks again
 * when webhooks were stored (and every 500 ms in case one is missed); without, every 50 ms.
 */
export async function waitFor(timeoutMs: number, done: () => Promise<boolean>, signal?: StoredSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Armed before the check, so a notify that comes while it runs is not missed.
    const stored = signal?.next(Math.min(500, Math.max(0, deadline - Date.now())));
    if (await done()) return true;
    if (Date.now() >= deadline) return false;
    await (stored ?? sleep(50));
  }
}
