import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** True when nothing listens on `host:port`, so a server of ours can bind it. */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export function acceptsConnections(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host, timeout: 1_000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

/** True when a Docker engine answers (testcontainers can start containers). */
export async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export async function httpAnswers200(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * Polls `check` until it returns true; throws when `timeoutMs` passes or `alive` says the process
 * being waited for has gone, so a server that crashes on start is reported at once.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; alive?: () => boolean; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (opts.alive && !opts.alive()) throw new Error(`${what}: the process exited before it was ready`);
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${opts.timeoutMs} ms`);
    await delay(opts.intervalMs ?? 200);
  }
}
