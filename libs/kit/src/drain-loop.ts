/** A background loop that drains a table of work: on a timer, on `wake()`, and on demand. */
export interface DrainLoop {
  /** Drain now instead of at the next poll (call after a commit that added work). */
  wake(): void;
  /** Waits for a drain in progress, then drains again, so work committed before the call is covered. */
  flush(): Promise<number>;
  /** Stops polling; with `finalDrain`, drains once more first (its failure is reported, not thrown). */
  stop(opts?: { finalDrain?: boolean }): Promise<void>;
  stopped(): boolean;
}

export interface DrainLoopOptions {
  /** Does the work that is due; returns how much it did. */
  drain: () => Promise<number>;
  pollMs: number;
  /** The pause after a failed drain (default: `pollMs`). */
  errorDelayMs?: number;
  /** Runs after each successful timed drain (for gauges). */
  afterTick?: () => Promise<void>;
  onError: (err: unknown, when: 'tick' | 'final') => void;
}

/** One drain at a time; work committed during a drain is picked up right after it. */
export function startDrainLoop(opts: DrainLoopOptions): DrainLoop {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | null = null;
  let again = false;

  async function flush(): Promise<number> {
    while (running) await running.catch(() => 0);
    const current = opts.drain().finally(() => {
      if (running === current) running = null;
    });
    running = current;
    return current;
  }

  async function tick(): Promise<void> {
    timer = undefined;
    if (stopped) return;
    again = false;
    let delay = opts.pollMs;
    try {
      await flush();
      await opts.afterTick?.();
    } catch (err) {
      opts.onError(err, 'tick');
      delay = opts.errorDelayMs ?? opts.pollMs;
    }
    if (!stopped) timer = setTimeout(tick, again ? 0 : delay);
  }

  timer = setTimeout(tick, 0);
  return {
    wake() {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      if (timer) clearTimeout(timer);
      timer = setTimeout(tick, 0);
    },
    flush,
    async stop(stopOpts = {}) {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      if (stopOpts.finalDrain) await flush().catch((err: unknown) => opts.onError(err, 'final'));
      else while (running) await running.catch(() => 0);
    },
    stopped: () => stopped,
  };
}
