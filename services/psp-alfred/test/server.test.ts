import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { connectMessaging, deleteStreams, openDatabase, queryRows } from '@offramp/kit';
import { spawnServer, testInfra, testLogger, uniqueName } from '@offramp/kit/testing';

const serverEntry = fileURLToPath(new URL('../src/server.ts', import.meta.url));

describe('psp-alfred process', () => {
  it('when started with its environment, then it migrates, becomes ready on its port, and stops cleanly on SIGTERM', async () => {
    const { databaseUrl, natsUrl } = testInfra();
    const schema = uniqueName('psp_alfred_p');
    const namespace = uniqueName('p').toLowerCase();
    const server = await spawnServer(serverEntry, {
      DATABASE_URL: databaseUrl,
      NATS_URL: natsUrl,
      NATS_NAMESPACE: namespace,
      DB_SCHEMA: schema,
      MIGRATE_ON_START: 'true',
      LOG_LEVEL: 'silent',
      ALFRED_BASE_URL: 'http://127.0.0.1:9/api/v1/third-party-service/penny',
      ALFRED_API_KEY: 'k',
      ALFRED_API_SECRET: 's',
      ALFRED_WEBHOOK_SECRET: 'w',
    });
    try {
      const ready = await server.ready();
      expect(await ready.json()).toMatchObject({ data: { status: 'ready' } });
      const webhook = await fetch(`${server.url}/psp/alfred/webhook`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      });
      expect(webhook.status).toBe(401);
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
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
    const server = await spawnServer(serverEntry, { DATABASE_URL: testInfra().databaseUrl, ALFRED_API_KEY: '', ALFRED_WEBHOOK_SECRET: '' });
    expect(await server.exited).not.toBe(0);
  });
});
