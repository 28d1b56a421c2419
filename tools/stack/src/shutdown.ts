import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '@offramp/kit';

export interface Shutdown {
  /** Registers how to stop something just started; the last registered stops first. */
  add(name: string, step: () => Promise<void>): void;
  /** Runs every step once, then exits with `code` (1 when a step failed). Later calls join the first. */
  run(code: number, reason: string): Promise<void>;
  stopping(): boolean;
}

const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const repeatedSignalWindowMs = 2_000;

/**
 * Takes over SIGINT/SIGTERM/SIGHUP and uncaught errors: the first one stops the stack in order, a
 * second signal (after the echo window) exits at once (children still running are then killed by
 * their exit hooks).
 */
export function installShutdown(log: Logger): Shutdown {
  const steps: { name: string; step: () => Promise<void> }[] = [];
  let running: Promise<void> | undefined;

  async function runSteps(code: number): Promise<void> {
    let exitCode = code;
    // Popping rather than iterating a copy also stops what startup registers while this runs.
    for (let next = steps.pop(); next; next = steps.pop()) {
      try {
        await next.step();
      } catch (err) {
        log.error({ err, step: next.name }, `${next.name}: failed to stop`);
        exitCode = exitCode || 1;
      }
    }
    log.info({ exitCode }, 'stack stopped');
    await exitAfterFlush(log, exitCode);
  }

  function run(code: number, reason: string): Promise<void> {
    if (running) return running;
    if (code === 0) log.info({ reason }, `stopping the stack: ${reason}`);
    else log.error({ reason, exitCode: code }, `stopping the stack: ${reason}`);
    running = runSteps(code);
    return running;
  }

  let firstSignalAt = 0;
  for (const signal of signals) {
    process.on(signal, () => {
      if (!running) {
        firstSignalAt = Date.now();
        return void run(0, `received ${signal}`);
      }
      // Ctrl-C reaches us twice: from the terminal (the whole process group) and from npm, which
      // forwards it. Only a signal well after the first one is a person insisting.
      if (Date.now() - firstSignalAt < repeatedSignalWindowMs) return;
      log.warn({ signal }, `second ${signal} while stopping, exiting now`);
      process.exit(1);
    });
  }
  // `npm start` runs the stack under `sh -c`, which does not pass a SIGTERM sent to npm on; without
  // this check the stack would run on as an orphan once npm and the shell are gone.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void run(0, 'the parent process exited');
  }, 1_000).unref();
  for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
    process.on(event, (err: unknown) => {
      log.error({ err }, event);
      void run(1, event);
    });
  }

  return {
    add: (name, step) => void steps.push({ name, step }),
    run,
    stopping: () => running !== undefined,
  };
}

/** pino writes to a file or pipe asynchronously; exiting without a flush can reorder or lose the last lines. */
export async function exitAfterFlush(log: Logger, code: number): Promise<never> {
  const flushed = new Promise<void>((resolve) => log.flush(() => resolve()));
  await Promise.race([flushed, delay(1_000, undefined, { ref: false })]);
  process.exit(code);
}
