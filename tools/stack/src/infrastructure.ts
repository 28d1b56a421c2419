import type { Logger } from '@offramp/kit';
import type { Child } from './child.ts';
import { startNats } from './nats.ts';
import { startEmbeddedPostgres } from './postgres.ts';
import type { StackConfig } from './config.ts';
import type { Shutdown } from './shutdown.ts';

/** A Postgres or NATS the services can use; `child` is set when the stack runs it itself. */
export interface Infrastructure {
  url: string;
  description: string;
  child?: Child;
}

export interface StackContext {
  config: StackConfig;
  log: Logger;
  shutdown: Shutdown;
}

export async function providePostgres(ctx: StackContext): Promise<Infrastructure> {
  if (ctx.config.DATABASE_URL) return { url: ctx.config.DATABASE_URL, description: describePostgresUrl(ctx.config.DATABASE_URL) };
  return startEmbeddedPostgres(ctx);
}

export async function provideNats(ctx: StackContext): Promise<Infrastructure> {
  if (ctx.config.NATS_URL) return { url: ctx.config.NATS_URL, description: `NATS_URL ${ctx.config.NATS_URL}` };
  return startNats(ctx);
}

/** Names the server and database without the credentials. */
function describePostgresUrl(url: string): string {
  const parsed = new URL(url);
  return `DATABASE_URL ${parsed.host}${parsed.pathname}`;
}
