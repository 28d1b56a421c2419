import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `done` every 50 ms until it holds or `timeoutMs` passed; whether it held. */
export async function waitFor(timeoutMs: number, done: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}
