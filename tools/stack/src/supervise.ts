import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '@offramp/kit';
import type { Child, ChildExit } from './child.ts';

export interface Backoff {
  /** The wait before the first restart; it doubles with each quick death. */
  initialMs: number;
  maxMs: number;
  /** A process that stayed up this long counts as healthy: its next death waits `initialMs` again. */
  stableAfterMs: number;
}

export const defaultBackoff: Backoff = { initialMs: 250, maxMs: 10_000, stableAfterMs: 30_000 };

/** The wait before restarting after the `deaths`-th quick death in a row (1 for the first). */
export const restartDelayMs = (backoff: Backoff, deaths: number): number =>
  Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, deaths - 1));

export interface SupervisedStop {
  /** True when the process drained and exited 0, died of the signal itself, or was not running (waiting to restart). */
  clean: boolean;
  exit: ChildExit | null;
}

export interface Supervised {
  name: string;
  /** The process running now (or the last one, while a restart waits). */
  current(): Child;
  restarts(): number;
  /** Stops supervising: a pending restart is cancelled, a running process stopped with `signal`, then SIGKILL after `graceMs`. */
  stop(signal: NodeJS.Signals, graceMs: number): Promise<SupervisedStop>;
}

export interface SuperviseOptions {
  name: string;
  /** Spawns a new process of the service. */
  start: () => Child;
  log: Logger;
  backoff?: Backoff;
  /** False while deaths must not be retried (the stack is still starting, or stopping). */
  restartEnabled: () => boolean;
  /** A death that is not followed by a restart (restartEnabled was false), unless stop() caused it. */
  onExitWithoutRestart: (exit: ChildExit) => void;
  /** Readiness probe of a restarted process, to log when it serves again. */
  ready?: () => Promise<boolean>;
}

const describeExit = ({ code, signal }: ChildExit) => (signal ? `signal ${signal}` : `exit code ${code}`);

/**
 * Keeps one service process running: a process that ends without being asked to is logged and
 * replaced after an exponential backoff, so that a crash costs that service a moment, not the stack.
 */
export function supervise(opts: SuperviseOptions): Supervised {
  const { name, log } = opts;
  const backoff = opts.backoff ?? defaultBackoff;
  const cancelRestart = new AbortController();
  let stopping = false;
  let deaths = 0;
  let restarts = 0;
  let child = opts.start();
  let startedAt = Date.now();
  log.info({ child: name, pid: child.pid, restarts }, `${name}: started, pid ${child.pid}`);
  watch(child);

  function watch(proc: Child): void {
    void proc.exited.then((exit) => onExit(exit));
  }

  async function onExit(exit: ChildExit): Promise<void> {
    if (stopping) return;
    if (!opts.restartEnabled()) {
      opts.onExitWithoutRestart(exit);
      return;
    }
    const upMs = Date.now() - startedAt;
    deaths = upMs >= backoff.stableAfterMs ? 1 : deaths + 1;
    const waitMs = restartDelayMs(backoff, deaths);
    log.error(
      { child: name, pid: child.pid, code: exit.code, signal: exit.signal, upMs, restartInMs: waitMs },
      `${name} exited unexpectedly (${describeExit(exit)}, pid ${child.pid}, up ${upMs} ms); restarting in ${waitMs} ms`,
    );
    try {
      await delay(waitMs, undefined, { signal: cancelRestart.signal });
    } catch {
      return;
    }
    if (stopping) return;
    restart();
  }

  function restart(): void {
    restarts += 1;
    child = opts.start();
    startedAt = Date.now();
    log.info({ child: name, pid: child.pid, restarts }, `${name}: restarted, pid ${child.pid} (restart ${restarts})`);
    watch(child);
    if (opts.ready) void announceReady(child, opts.ready);
  }

  async function announceReady(proc: Child, ready: () => Promise<boolean>): Promise<void> {
    while (!stopping && proc.running()) {
      if (await ready()) {
        log.info({ child: name, pid: proc.pid, restarts }, `${name}: ready again (restart ${restarts})`);
        return;
      }
      await delay(250);
    }
  }

  async function stop(signal: NodeJS.Signals, graceMs: number): Promise<SupervisedStop> {
    stopping = true;
    cancelRestart.abort();
    if (!child.running()) return { clean: true, exit: null };
    const exit = await child.stop(signal, graceMs);
    // A process that had not yet installed its handlers dies of the signal itself: it had nothing to drain.
    return { clean: exit.code === 0 || exit.signal === signal, exit };
  }

  return { name, current: () => child, restarts: () => restarts, stop };
}
