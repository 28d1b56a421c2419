import { z } from 'zod';
import { loadConfig } from '@offramp/kit';

/** The sandbox's environment. It needs no database, so it does not extend the services' base config. */
export const sandboxConfig = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8090),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ALFRED_API_KEY: z.string().min(1).default('sandbox-key'),
  ALFRED_API_SECRET: z.string().min(1).default('sandbox-secret'),
  ALFRED_WEBHOOK_URL: z.preprocess((value) => (value === '' ? undefined : value), z.url({ protocol: /^https?$/ }).optional()),
  ALFRED_WEBHOOK_SECRET: z.string().min(1).default('sandbox-webhook-secret'),
  /** `dot` signs `t + "." + body`, `concat` signs `t + body`: the exact signed string of Alfred is not public. */
  ALFRED_WEBHOOK_SIGNATURE_FORMAT: z.enum(['dot', 'concat']).default('dot'),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().positive().default(10_000),
  /** Where the state survives a restart (`npm start`: `<data dir>/alfred-sandbox/state.json`); unset, it lives in memory only. */
  SANDBOX_STATE_FILE: z.preprocess((value) => (value === '' ? undefined : value), z.string().min(1).optional()),
});

export type SandboxConfig = z.infer<typeof sandboxConfig>;

export const readSandboxConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(sandboxConfig, env);
