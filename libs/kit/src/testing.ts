import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { connectMessaging, deleteStreams, provisionStreams, type Messaging } from './nats.ts';
import { createLogger, type Logger } from './logger.ts';

/** Test helpers: where the infrastructure is, and names no other test uses. */
export function testInfra(): { databaseUrl: string; natsUrl: string } {
  return { databaseUrl: inject('databaseUrl'), natsUrl: inject('natsUrl') };
}

export const uniqueName = (prefix: string) => `${prefix}_${randomBytes(5).toString('hex')}`;

export const testLogger = (name: string): Logger => createLogger({ name, level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A NATS connection under a namespace of its own, with its streams provisioned. */
export async function testMessaging(name: string): Promise<Messaging & { cleanup(): Promise<void> }> {
  const namespace = uniqueName('t').toLowerCase();
  const m = await connectMessaging({ url: testInfra().natsUrl, name, namespace, log: testLogger(name) });
  await provisionStreams(m);
  return Object.assign(m, {
    async cleanup() {
      await deleteStreams(m);
      await m.nc.drain();
    },
  });
}
