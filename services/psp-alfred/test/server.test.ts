import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { z } from 'zod';
import { connectMessaging, deleteStreams, openDatabase, queryRows } from '@offramp/kit';
import { eventually, testInfra, testLogger, uniqueName } from '@offramp/kit/testing';

const serverEntry = fileURLToPath(new URL('../src/server.ts', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('psp-alfred process', () => {
  it('when started with its environment, then it migrates, becomes ready on its port, and stops cleanly on SIGTERM', async () => {
    const { databaseUrl, natsUrl } = testInfra();
    const port = await freePort();
    const schema = uniqueName('psp_alfred_p');
    const namespace = uniqueName('p').toLowerCase();
    const child = spawn(process.execPath, [serverEntry], {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        NATS_URL: natsUrl,
        NATS_NAMESPACE: namespace,
        PORT: String(port),
        DB_SCHEMA: schema,
        MIGRATE_ON_START: 'true',
        LOG_LEVEL: 'silent',
        ALFRED_BASE_URL: 'http://127.0.0.1:9/api/v1/third-party-service/penny',
        ALFRED_API_KEY: 'k',
        ALFRED_API_SECRET: 's',
        ALFRED_WEBHOOK_SECRET: 'w',
      },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const ready = await eventually(
        'readiness',
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
          return res?.status === 200 && res;
        },
        { timeoutMs: 30_000 },
      );
      expect(await ready.json()).toMatchObject({ data: { status: 'ready' } });
      const webhook = await fetch(`http://127.0.0.1:${port}/psp/alfred/webhook`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      });
      expect(webhook.status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    const db = await openDatabase({ url: databaseUrl, schema, migrations: [] });
    const tables = await queryRows(
      db.em.fork(),
      z.object({ table_name: z.string() }),
      'select table_name from information_schema.tables where table_schema = ? order by table_name',
      [schema],
    );
    expect(tables.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['offramps', 'partner_events', 'traders', 'fiat_accounts', 'outbox', 'inbox']),
    );
    await db.em.fork().execute(`drop schema if exists "${schema}" cascade`);
    await db.close();
    const messaging = await connectMessaging({ url: natsUrl, name: 'cleanup', namespace, log: testLogger('cleanup') });
    await deleteStreams(messaging);
    await messaging.nc.drain();
  });

  it('when a required variable is missing, then it exits non-zero at once', async () => {
    const child = spawn(process.execPath, [serverEntry], {
      env: { ...process.env, DATABASE_URL: testInfra().databaseUrl, ALFRED_API_KEY: '', ALFRED_WEBHOOK_SECRET: '' },
      stdio: 'ignore',
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).not.toBe(0);
  });
});
