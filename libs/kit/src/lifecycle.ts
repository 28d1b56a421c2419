import closeWithGrace from 'close-with-grace';
import type { Logger } from './logger.ts';

export interface Running {
  /** Stops taking work, finishes what is in flight, releases connections. */
  close(): Promise<void>;
}

/**
 * Runs a service until SIGINT/SIGTERM, then closes it within `graceMs`; a second signal or the
 * grace running out exits at once.
 */
export async function runService(opts: { name: string; log: Logger; graceMs: number; start: () => Promise<Running> }): Promise<void> {
  let running: Running | undefined;
  closeWithGrace({ delay: opts.graceMs, logger: opts.log }, async ({ signal, err }) => {
    if (err) opts.log.error({ err }, `${opts.name}: closing after an error`);
    else opts.log.info({ signal }, `${opts.name}: closing`);
    await running?.close();
    opts.log.info(`${opts.name}: closed`);
  });
  running = await opts.start();
}
