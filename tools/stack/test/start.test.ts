import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '@offramp/kit/testing';
import { portIsFree } from '../src/probes.ts';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const startScript = path.join(repoRoot, 'tools/stack/src/start.ts');

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

describe('npm start', () => {
  let dataDir: string | undefined;
  let stack: ChildProcess | undefined;

  afterAll(async () => {
    // After a failed assertion the stack still runs; SIGINT lets it stop the servers it spawned.
    if (stack && stack.exitCode === null && stack.signalCode === null) {
      const child = stack;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      if ((await Promise.race([exited, delay(30_000, 'timeout')])) === 'timeout') child.kill('SIGKILL');
    }
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('when started without DATABASE_URL and NATS_URL, then the ledger is ready on its own servers; SIGINT stops all, exit 0', async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'offramp-stack-'));
    // As root, Postgres runs as the postgres user, which must be able to reach its data directory.
    await fs.chmod(dataDir, 0o755);
    const ports = { postgres: await freePort(), nats: await freePort(), ledger: await freePort() };
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      OFFRAMP_DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(ports.postgres),
      EMBEDDED_NATS_PORT: String(ports.nats),
      LEDGER_PORT: String(ports.ledger),
    };
    delete env.DATABASE_URL;
    delete env.NATS_URL;

    let output = '';
    const child = spawn(process.execPath, [startScript], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    stack = child;
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const gone = () => child.exitCode !== null || child.signalCode !== null;

    let last: { status: number; body: unknown } | undefined;
    const readyz = await eventually(
      () => `the ledger's /readyz to answer 200 (last: ${JSON.stringify(last)})\n${output}`,
      async () => {
        if (gone()) throw new Error(`the stack exited before the ledger was ready:\n${output}`);
        try {
          const res = await fetch(`http://127.0.0.1:${ports.ledger}/readyz`, { signal: AbortSignal.timeout(2_000) });
          last = { status: res.status, body: await res.json() };
          return last.status === 200 ? last : undefined;
        } catch {
          // Not listening yet: the first start initialises a Postgres cluster, which takes a while.
          return undefined;
        }
      },
      { timeoutMs: 150_000, intervalMs: 500 },
    );
    expect(readyz.body).toMatchObject({ success: true, data: { status: 'ready', checks: { database: 'ok', nats: 'ok' } } });
    // The ledger can answer before the stack's own poll sees it and logs the summary.
    await eventually(
      () => `'stack ready' in the output:\n${output}`,
      () => output.includes('stack ready'),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(output).toContain('stack ready');
    // Piped, the output is JSON lines; the ready line names the pages and how to stop.
    const ready = output
      .split('\n')
      .filter((l) => l.includes('"msg":"stack ready'))
      .map((l) => JSON.parse(l.slice(l.indexOf('{'))) as { msg: string })[0];
    expect(ready?.msg).toMatch(
      /; Gateway http:\/\/127\.0\.0\.1:\d+; API docs http:\/\/127\.0\.0\.1:\d+\/docs; Console http:\/\/127\.0\.0\.1:\d+\/console/,
    );
    expect(ready?.msg).toContain('Ctrl-C');
    expect(await exists(path.join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    expect(await exists(path.join(dataDir, 'nats', 'jetstream'))).toBe(true);

    child.kill('SIGINT');
    const exit = await Promise.race([exited, delay(60_000, { code: null, signal: null, timedOut: true })]);
    expect(exit, output).toEqual({ code: 0, signal: null });
    expect(output).toContain('ledger: closed');
    expect(output).toContain('database system is shut down');
    for (const [name, port] of Object.entries(ports)) {
      expect(await portIsFree(port), `${name} port ${port} still taken`).toBe(true);
    }
  }, 240_000);
});
