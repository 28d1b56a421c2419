/**
 * `npm start` as a child process on a data directory and ports of its own (embedded Postgres, its
 * own nats-server, no DATABASE_URL / NATS_URL): what the idle-CPU bench and the stack's tests run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { repoRoot } from './config.ts';
import { portEnvName, services } from './services.ts';

export interface StackExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildStack {
  child: ChildProcess;
  /** The ports chosen: postgres, nats and each service by name. */
  ports: Record<string, number>;
  exited: Promise<StackExit>;
}

export interface ChildStackOptions {
  dataDir: string;
  /** Set on top of this process's environment (after it, before the ports). */
  env?: NodeJS.ProcessEnv;
  /** Names left out of the stack's environment besides DATABASE_URL and NATS_URL. */
  unset?: readonly string[];
  /** Each chunk the stack writes, with the stream it came on. */
  onOutput?: (text: string, stream: 'stdout' | 'stderr') => void;
}

/** Distinct free ports: every listener stays open until all are chosen. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export const stackRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** Spawns `npm start` (tools/stack/src/start.ts) on free ports of its own; it does not wait for readiness. */
export async function spawnChildStack(opts: ChildStackOptions): Promise<ChildStack> {
  const [postgres, nats, ...servicePorts] = await freePorts(2 + services.length);
  const ports: Record<string, number> = { postgres: postgres!, nats: nats! };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OFFRAMP_DATA_DIR: opts.dataDir,
    EMBEDDED_PG_PORT: String(postgres),
    EMBEDDED_NATS_PORT: String(nats),
    ...opts.env,
  };
  services.forEach((service, i) => {
    ports[service.name] = servicePorts[i]!;
    env[portEnvName(service)] = String(servicePorts[i]);
  });
  const unset = new Set(['DATABASE_URL', 'NATS_URL', ...(opts.unset ?? [])]);
  const stackEnv = Object.fromEntries(Object.entries(env).filter(([name]) => !unset.has(name)));

  const child = spawn(process.execPath, [path.join(repoRoot, 'tools/stack/src/start.ts')], {
    cwd: repoRoot,
    env: stackEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => opts.onOutput?.(chunk.toString(), 'stdout'));
  child.stderr!.on('data', (chunk: Buffer) => opts.onOutput?.(chunk.toString(), 'stderr'));
  const exited = new Promise<StackExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, ports, exited };
}
