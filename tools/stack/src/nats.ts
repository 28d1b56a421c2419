import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawnChild } from './child.ts';
import type { Infrastructure, StackContext } from './infrastructure.ts';
import { acceptsConnections, dockerAnswers, portIsFree, waitUntil } from './probes.ts';

const natsImage = 'nats:2.10-alpine';

const natsMissing =
  'NATS with JetStream is needed and none was found: install nats-server (Debian/Ubuntu: apt-get install nats-server, ' +
  'or put the release binary from https://github.com/nats-io/nats-server/releases on PATH), ' +
  'start a Docker engine, or set NATS_URL to a running server started with -js';

/** A local nats-server when one is installed, else a container when Docker answers, else a clear failure. */
export async function startNats(ctx: StackContext): Promise<Infrastructure> {
  const binary = await findNatsServer();
  if (binary) return startNatsServer(binary, ctx);
  if (await dockerAnswers()) return startNatsContainer(ctx);
  throw new Error(natsMissing);
}

async function findNatsServer(): Promise<string | undefined> {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const candidate of [...dirs.map((dir) => path.join(dir, 'nats-server')), '/usr/sbin/nats-server']) {
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function startNatsServer(binary: string, ctx: StackContext): Promise<Infrastructure> {
  const { config, log, shutdown } = ctx;
  const port = config.EMBEDDED_NATS_PORT;
  if (!(await portIsFree(port))) {
    throw new Error(`port ${port} is taken: set EMBEDDED_NATS_PORT to a free port, or NATS_URL to use a running server`);
  }
  const storeDir = path.join(config.OFFRAMP_DATA_DIR, 'nats');
  await fs.mkdir(storeDir, { recursive: true });
  const child = spawnChild({
    name: 'nats',
    command: binary,
    args: ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(port)],
    log,
  });
  shutdown.add('nats-server', async () => void (await child.stop('SIGTERM', config.SHUTDOWN_GRACE_MS)));
  await waitUntil('nats-server', () => acceptsConnections(port), { timeoutMs: config.STARTUP_TIMEOUT_MS, alive: child.running });
  return { url: `nats://127.0.0.1:${port}`, description: `${binary} on 127.0.0.1:${port} (store ${storeDir})`, child };
}

async function startNatsContainer(ctx: StackContext): Promise<Infrastructure> {
  const { GenericContainer, Wait } = await import('testcontainers');
  ctx.log.info({ image: natsImage }, 'no nats-server installed, starting a container');
  const container = await new GenericContainer(natsImage)
    .withCommand(['-js'])
    .withExposedPorts(4222)
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .start();
  ctx.shutdown.add('nats container', async () => void (await container.stop()));
  const url = `nats://${container.getHost()}:${container.getMappedPort(4222)}`;
  return { url, description: `docker ${natsImage} at ${url}` };
}

async function isExecutable(file: string): Promise<boolean> {
  return fs.access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}
