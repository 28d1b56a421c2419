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
  /** The pause between two timed drains (after one that found work, when `idlePollMs` is set). */
  pollMs: number;
  /**
   * When set, each timed drain that found nothing doubles the pause, up to this: an idle loop
   * polls rarely, and the first drain that finds work (or a `wake()`) brings it back to `pollMs`.
   */
  idlePollMs?: number;
  /** The pause after a failed drain (default: `pollMs`). */
  errorDelayMs?: number;
  /** Runs after each successful timed drain (for gauges). */
  afterTick?: () => Promise<void>;
  onError: (err: unknown, when: 'tick' | 'final') => void;
}

/**
 * One drain at a time, and exactly one timer: a tick in progress schedules the next one when it
 * ends; a `wake()` during a tick only asks it to go again at once. (A wake that also armed a timer
 * of its own while a tick was still in its gauge would start a second chain of ticks for good, and
 * every such wake under load another: an idle process then polled tens of times a second.)
 */
export function startDrainLoop(opts: DrainLoopOptions): DrainLoop {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  let running: Promise<number> | null = null;
  let again = false;
  let pause = opts.pollMs;

  async function flush(): Promise<number> {
    while (running) await running.catch(() => 0);
    const current = opts.drain().finally(() => {
      if (running === current) running = null;
    });
    running = current;
    return current;
  }

  function schedule(ms: number): void {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void tick(), ms);
  }

  async function tick(): Promise<void> {
    timer = undefined;
    if (stopped || ticking) return;
    ticking = true;
    again = false;
    let delay: number;
    try {
      const done = await flush();
      await opts.afterTick?.();
      pause = done > 0 || opts.idlePollMs === undefined ? opts.pollMs : Math.min(pause * 2, opts.idlePollMs);
      delay = pause;
    } catch (err) {
      opts.onError(err, 'tick');
      delay = opts.errorDelayMs ?? opts.pollMs;
    } finally {
      ticking = false;
    }
    schedule(again ? 0 : delay);
  }

  schedule(0);
  return {
    wake() {
      if (stopped) return;
      pause = opts.pollMs;
      if (ticking) {
        again = true;
        return;
      }
      schedule(0);
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
