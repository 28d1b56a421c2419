import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { connectMessaging, envFlag, provisionStreams, type Logger } from '@offramp/kit';
import { spawnChild, type Child, type ChildExit } from './child.ts';
import { readStackConfig, repoRoot, type StackConfig } from './config.ts';
import { provideNats, providePostgres, type StackContext } from './infrastructure.ts';
import { createStackLogger, lineFormatter, logFormatOf, readyBanner, readySummary, type BannerFacts, type LogFormat } from './output.ts';
import { httpAnswers200, portIsFree, waitUntil } from './probes.ts';
import { entryPath, migrateAll, portEnvName, servicePort, services, type ServiceDefinition } from './services.ts';
import { exitAfterFlush, installShutdown, type Shutdown } from './shutdown.ts';
import { supervise, type Supervised } from './supervise.ts';

interface RunningService {
  service: ServiceDefinition;
  readyUrl: string;
  supervised: Supervised;
}

const serviceHost = '127.0.0.1';

// Human-readable on a terminal, JSON lines elsewhere (piped, CI, containers) unless LOG_FORMAT says.
const logFormat: LogFormat = logFormatOf(process.env, Boolean(process.stdout.isTTY));
const config = await readConfigOrExit();
const log = createStackLogger({ name: 'stack', level: config.LOG_LEVEL, format: logFormat });
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
    const log = createStackLogger({ name: 'stack', format: logFormat });
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
  // Until every service has been ready once, a death is a failed start (a misconfiguration is
  // reported once, not retried forever); from then on a service that dies is restarted.
  let started = false;
  const running = startServices(env, ctx, () => started);
  const timeoutMs = ctx.config.STARTUP_TIMEOUT_MS;
  for (const { service, readyUrl, supervised } of running) {
    await waitUntil(service.name, () => httpAnswers200(readyUrl), { timeoutMs, alive: () => supervised.current().running() });
  }
  if (ctx.shutdown.stopping()) return;
  started = true;
  const urls = Object.fromEntries(running.map(({ service, readyUrl }) => [service.name, readyUrl]));
  const facts = bannerFacts(env, postgres.description, nats.description);
  // JSON: one line with every fact. On a terminal: a short line, then the same facts as a banner.
  const pretty = logFormat === 'pretty';
  ctx.log.info({ postgres: postgres.description, nats: nats.description, services: urls }, pretty ? 'stack ready' : readySummary(facts));
  if (pretty) process.stdout.write(`${readyBanner(facts)}\n`);
}

/** What the ready banner names, from the environment the services were started with. */
function bannerFacts(env: NodeJS.ProcessEnv, postgres: string, nats: string): BannerFacts {
  const url = (name: string) => {
    const service = services.find((s) => s.name === name)!;
    return `http://${serviceHost}:${servicePort(service, process.env)}`;
  };
  const devEndpoints = envFlag.safeParse(env.DEV_ENDPOINTS);
  return {
    gatewayUrl: url('gateway'),
    pspAlfredUrl: url('psp-alfred'),
    // The sandbox is Alfred unless ALFRED_BASE_URL names another.
    sandboxUrl: process.env.ALFRED_BASE_URL ? undefined : url('alfred-sandbox'),
    // The gateway serves the playground with DEV_ENDPOINTS and a DEV_SECRET (of at least 16 characters).
    playground: devEndpoints.success && devEndpoints.data && (env.DEV_SECRET?.length ?? 0) >= 16,
    smtpUrl: env.SMTP_URL,
    postgres,
    nats,
    logFormat,
  };
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
    // The gateway's QA routes fund traders through the ledger's QA rpc: on together unless set apart.
    DEV_RPCS: process.env.DEV_RPCS ?? process.env.DEV_ENDPOINTS,
    // A local stack needs some JWT key; a random one per run means no default secret exists anywhere.
    JWT_SECRET: process.env.JWT_SECRET ?? (process.env.JWT_PUBLIC_KEY ? undefined : randomBytes(32).toString('hex')),
    ...alfredEnv(),
    // The sandbox keeps what "Alfred" knows across its restarts and the stack's, like the services' Postgres.
    SANDBOX_STATE_FILE: process.env.SANDBOX_STATE_FILE ?? path.join(config.OFFRAMP_DATA_DIR, 'alfred-sandbox', 'state.json'),
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

/** Spawns and supervises every service; `restartEnabled` says whether a death is restarted or fails the stack. */
function startServices(env: NodeJS.ProcessEnv, ctx: StackContext, restartEnabled: () => boolean): RunningService[] {
  const running: RunningService[] = [];
  ctx.shutdown.add('services', () => stopServices(running, ctx));
  for (const service of services) {
    const port = servicePort(service, process.env);
    const readyUrl = `http://${serviceHost}:${port}/readyz`;
    const supervised = supervise({
      name: service.name,
      start: () =>
        spawnChild({
          name: service.name,
          command: process.execPath,
          args: [entryPath(service)],
          cwd: repoRoot,
          env: { ...env, PORT: String(port) },
          log: ctx.log,
          formatLine: lineFormatter(logFormat),
        }),
      log: ctx.log,
      restartEnabled: () => restartEnabled() && !ctx.shutdown.stopping(),
      onExitWithoutRestart: (exit) => stopStack(service.name, exit, ctx),
      ready: () => httpAnswers200(readyUrl),
    });
    running.push({ service, supervised, readyUrl });
  }
  return running;
}

/**
 * Stops the services together, a service waiting to be restarted included; one that does not exit
 * cleanly (a failed close, or killed after the grace) fails the step.
 */
async function stopServices(running: RunningService[], ctx: StackContext): Promise<void> {
  const stops = await Promise.all(
    running.map(async ({ supervised }) => {
      const { clean, exit } = await supervised.stop('SIGTERM', ctx.config.SHUTDOWN_GRACE_MS);
      if (exit) ctx.log.info({ child: supervised.name, ...exit }, `${supervised.name} stopped`);
      else ctx.log.info({ child: supervised.name }, `${supervised.name} was not running (waiting to restart)`);
      return { name: supervised.name, clean };
    }),
  );
  const unclean = stops.filter((stop) => !stop.clean).map((stop) => stop.name);
  if (unclean.length > 0) throw new Error(`did not stop cleanly: ${unclean.join(', ')}`);
}

/** A child that may not be restarted (Postgres, nats-server, a service while the stack starts) ending takes the whole stack down. */
function stopStack(name: string, { code, signal }: ChildExit, ctx: { log: Logger; shutdown: Shutdown }): void {
  if (ctx.shutdown.stopping()) return;
  ctx.log.error({ child: name, code, signal }, `${name} exited unexpectedly`);
  void ctx.shutdown.run(1, `${name} exited unexpectedly`);
}

/** Postgres and nats-server are not restarted: the services' connections and data depend on them, so their end is the stack's. */
function stopStackOnExit(child: Child, ctx: { log: Logger; shutdown: Shutdown }): void {
  void child.exited.then((exit) => stopStack(child.name, exit, ctx));
}
