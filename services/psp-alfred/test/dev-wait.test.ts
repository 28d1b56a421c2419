import { afterEach, describe, expect, it, vi } from 'vitest';
import { createStoredSignal, storedKey, waitFor } from '../src/dev/wait.ts';

describe('the QA actions wait for a webhook', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('when the awaited webhook is stored while a QA action waits, then it checks again at once, with no timer elapsed; other webhooks do not wake it', async () => {
    vi.useFakeTimers();
    const signal = createStoredSignal();
    let arrived = false;
    let checks = 0;
    const waiting = waitFor(
      2_000,
      async () => {
        checks++;
        return arrived;
      },
      { signal, key: storedKey('tx-1', 'FIAT_TRANSFER_COMPLETED') },
    );
    await vi.waitFor(() => expect(checks).toBe(1));
    signal.notify(storedKey('tx-1', 'TRADE_COMPLETED'));
    signal.notify(storedKey('tx-2', 'FIAT_TRANSFER_COMPLETED'));
    await Promise.resolve();
    expect(checks).toBe(1);
    arrived = true;
    signal.notify(storedKey('tx-1', 'FIAT_TRANSFER_COMPLETED'));
    await expect(waiting).resolves.toBe(true);
    expect(checks).toBe(2);
  });

  it('when nothing is stored, then it checks on a slow timer until its time is up and says the webhook did not come', async () => {
    vi.useFakeTimers();
    const signal = createStoredSignal();
    let checks = 0;
    const waiting = waitFor(
      2_000,
      async () => {
        checks++;
        return false;
      },
      { signal, key: storedKey('tx-1', 'FIAT_TRANSFER_COMPLETED') },
    );
    await vi.advanceTimersByTimeAsync(2_000);
    await expect(waiting).resolves.toBe(false);
    // Every 500 ms (0, 500, 1000, 1500, 2000), not every 50.
    expect(checks).toBe(5);
  });
});
