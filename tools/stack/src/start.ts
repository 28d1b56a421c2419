import { randomBytes } from 'node:crypto';
import { connectMessaging, createLogger, provisionStreams, type Logger } from '@offramp/kit';
import { spawnChild, type Child } from './child.ts';
import { readStackConfig, repoRoot, type StackConfig } from './config.ts';
import { provideNats, providePostgres, type StackContext } from './infrastructure.ts';
import { httpAnswers200, portIsFree, waitUntil } from './probes.ts';
import { entryPath, migrateAll, portEnvName, servicePort, services, type ServiceDefinition } from './services.ts';
import { exitAfterFlush, installShutdown, type Shutdown } from './shutdown.ts';

interface RunningService {
  service: ServiceDefinition;
  readyUrl: string;
  child: Child;
}

const serviceHost = '127.0.0.1';

const config = await readConfigOrExit();
const log = createLogger({ name: 'stack', level: config.LOG_LEVEL });
const shutdown = installShutdown(log);

try {
  await startStack({ config, log, shutdown });
} catch (err) {
  log.error({ err }, 'the stack failed to start');
  await shutdown.run(1, 'startup failed');
}

async function readConfigOrExit(): Promise<StackConfig> {
  try {
    return readStackConfig();
  } catch (err) {
    const log = createLogger({ name: 'stack' });
    log.fatal({ err }, 'cannot start the stack');
    return exitAfterFlush(log, 1);
  }
}

/** Postgres and NATS first, then migrations and streams, then every service; logs a summary once all are ready. */
async function startStack(ctx: StackContext): Promise<void> {
  await assertServicePortsFree();
  const postgres = await providePostgres(ctx);
  if (postgres.child) stopStackOnExit(postgres.child, ctx);
  const nats = await provideNats(ctx);
  if (nats.child) stopStackOnExit(nats.child, ctx);
  const env = serviceEnv(ctx.config, postgres.url, nats.url);
  await migrateAll(env, ctx.log);
  await provisionStreamsOnce(nats.url, ctx.config.NATS_NAMESPACE, ctx.log);
  // A signal that arrived during migrations must not be followed by services starting.
  if (ctx.shutdown.stopping()) return;
  const running = startServices(env, ctx);
  const timeoutMs = ctx.config.STARTUP_TIMEOUT_MS;
  for (const { service, readyUrl, child } of running) {
    await waitUntil(service.name, () => httpAnswers200(readyUrl), { timeoutMs, alive: child.running });
  }
  const urls = Object.fromEntries(running.map(({ service, readyUrl }) => [service.name, readyUrl]));
  const serviceLines = running.map(({ service, readyUrl }) => `${service.name} ${readyUrl}`).join(', ');
  ctx.log.info(
    { postgres: postgres.description, nats: nats.description, services: urls },
    `stack ready; postgres: ${postgres.description}; nats: ${nats.description}; services: ${serviceLines}; Ctrl-C stops it`,
  );
}

async function assertServicePortsFree(): Promise<void> {
  for (const service of services) {
    const port = servicePort(service, process.env);
    if (!(await portIsFree(port, serviceHost))) {
      throw new Error(`${service.name}: port ${port} is taken; stop what uses it or set ${portEnvName(service)}`);
    }
  }
}

function serviceEnv(config: StackConfig, databaseUrl: string, natsUrl: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // The stack has applied every migration before any service starts.
    MIGRATE_ON_START: 'false',
    DATABASE_URL: databaseUrl,
    NATS_URL: natsUrl,
    NATS_NAMESPACE: config.NATS_NAMESPACE,
    HOST: serviceHost,
    LOG_LEVEL: config.LOG_LEVEL,
    // A local stack needs some JWT key; a random one per run means no default secret exists anywhere.
    JWT_SECRET: process.env.JWT_SECRET ?? (process.env.JWT_PUBLIC_KEY ? undefined : randomBytes(32).toString('hex')),
    ...alfredEnv(),
  };
}

/**
 * Points psp-alfred at the sandbox and the sandbox's webhooks at psp-alfred, with one webhook secret
 * shared by both; anything set in the environment (a real Alfred) wins.
 */
function alfredEnv(): NodeJS.ProcessEnv {
  const sandboxPort = process.env.ALFRED_SANDBOX_PORT ?? '8090';
  const pspPort = process.env.PSP_ALFRED_PORT ?? '8081';
  return {
    ALFRED_BASE_URL: process.env.ALFRED_BASE_URL ?? `http://${serviceHost}:${sandboxPort}/api/v1/third-party-service/penny`,
    ALFRED_API_KEY: process.env.ALFRED_API_KEY ?? 'sandbox-key',
    ALFRED_API_SECRET: process.env.ALFRED_API_SECRET ?? 'sandbox-secret',
    ALFRED_WEBHOOK_SECRET: process.env.ALFRED_WEBHOOK_SECRET ?? randomBytes(24).toString('hex'),
    ALFRED_WEBHOOK_URL: process.env.ALFRED_WEBHOOK_URL ?? `http://${serviceHost}:${pspPort}/psp/alfred/webhook`,
  };
}

async function provisionStreamsOnce(url: string, namespace: string, log: Logger): Promise<void> {
  const messaging = await connectMessaging({ url, name: 'stack', namespace, log });
  try {
    await provisionStreams(messaging);
  } finally {
    await messaging.nc.drain();
  }
}

function startServices(env: NodeJS.ProcessEnv, ctx: StackContext): RunningService[] {
  const running: RunningService[] = [];
  ctx.shutdown.add('services', () => stopServices(running, ctx));
  for (const service of services) {
    const port = servicePort(service, process.env);
    const child = spawnChild({
      name: service.name,
      command: process.execPath,
      args: [entryPath(service)],
      cwd: repoRoot,
      env: { ...env, PORT: String(port) },
      log: ctx.log,
    });
    stopStackOnExit(child, ctx);
    running.push({ service, child, readyUrl: `http://${serviceHost}:${port}/readyz` });
  }
  return running;
}

/** Stops the services together; one that does not exit 0 (a failed close, or killed after the grace) fails the step. */
async function stopServices(running: RunningService[], ctx: StackContext): Promise<void> {
  const exits = await Promise.all(
    running.map(async ({ child }) => {
      const exit = await child.stop('SIGTERM', ctx.config.SHUTDOWN_GRACE_MS);
      ctx.log.info({ child: child.name, ...exit }, `${child.name} stopped`);
      return { name: child.name, clean: exit.code === 0 };
    }),
  );
  const unclean = exits.filter((exit) => !exit.clean).map((exit) => exit.name);
  if (unclean.length > 0) throw new Error(`did not stop cleanly: ${unclean.join(', ')}`);
}

/** Any child ending while the stack is meant to run takes the whole stack down, with a non-zero exit. */
function stopStackOnExit(child: Child, ctx: { log: Logger; shutdown: Shutdown }): void {
  void child.exited.then(({ code, signal }) => {
    if (ctx.shutdown.stopping()) return;
    ctx.log.error({ child: child.name, code, signal }, `${child.name} exited unexpectedly`);
    void ctx.shutdown.run(1, `${child.name} exited unexpectedly`);
  });
}
